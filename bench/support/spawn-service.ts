import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { BenchEnvironment } from './bench-env.js';
import type { FromService, ToService } from './service-messages.js';
import { stopOnInterrupt } from './interrupt.js';

export interface ServiceProcess {
  /** The HTTP port, when the process runs the http role. */
  port: number | undefined;
  /** Called with each batch of (correlation id, commit time) reported by the process. */
  onCommits(listener: (commits: [string, number][]) => void): void;
  resetCpu(): void;
  /** CPU seconds the process used since the last resetCpu(). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts bench/support/service-process.ts with these roles on the environment's database and vhost. */
export async function spawnService(env: BenchEnvironment, roles: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const child: ChildProcess = fork('bench/support/service-process.ts', [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl, LOG_LEVEL: 'warn', PORT: '0', BENCH_ROLES: roles, ...extra },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  stopOnInterrupt(child);
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`service process (${roles}) exited with ${code}`))),
  ])) as [FromService];
  if (ready.type !== 'ready') throw new Error(`service process (${roles}) said ${ready.type} before ready`);
  const request = (message: ToService) => child.send(message);
  return {
    port: ready.port,
    onCommits(listener) {
      child.on('message', (message: FromService) => {
        if (message.type === 'commits') listener(message.commits);
      });
    },
    resetCpu: () => request({ type: 'cpu-reset' }),
    async cpuSeconds() {
      const answer = new Promise<number>((resolve) => {
        const onMessage = (message: FromService) => {
          if (message.type !== 'cpu') return;
          child.off('message', onMessage);
          resolve(message.seconds);
        };
        child.on('message', onMessage);
      });
      request({ type: 'cpu' });
      return answer;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      request({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
