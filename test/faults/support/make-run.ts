import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { checkedFetch } from '../../support/http-validation.js';

// `make run` as a user types it, and scripts/servers.sh beside it, for test/faults/servers.test.ts.

const exec = promisify(execFile);

/** `make run` in its own process group (make, npm, tsx and the service), so that stop() reaches all of them. */
export class MakeRun {
  private readonly child: ChildProcess;
  private text = '';
  private exited = false;

  constructor(env: Record<string, string>) {
    this.child = spawn('make', ['run'], { cwd: process.cwd(), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) stream.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
    this.child.once('exit', () => (this.exited = true));
  }

  get output(): string {
    return this.text;
  }

  /**
   * Resolves with /readyz's answer once it is 200; rejects if make exits first, after deadlineMs (a hang guard), or
   * on an answer /openapi.json does not declare (every answer is checked, the not-ready ones too).
   */
  async ready(port: number, deadlineMs: number): Promise<unknown> {
    const origin = `http://127.0.0.1:${port}`;
    const checked = checkedFetch(origin);
    const end = Date.now() + deadlineMs;
    for (;;) {
      const response = await checked(`${origin}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(unanswered);
      if (response?.status === 200) return response.json();
      await response?.body?.cancel();
      if (this.exited) throw new Error(`make run exited before the service was ready:\n${this.text}`);
      if (Date.now() > end) throw new Error(`no ready service within ${deadlineMs} ms; make run said:\n${this.text}`);
      await sleep(500);
    }
  }

  /** SIGTERM to the whole group (the service shuts down gracefully), SIGKILL if it outlasts graceMs. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exited) return;
    const exit = once(this.child, 'exit');
    process.kill(-this.child.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-this.child.pid!, 'SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  }
}

/** No answer (refused while make run starts, none within the timeout) is undefined; an undeclared answer rejects. */
function unanswered(error: unknown): undefined {
  if (error instanceof TypeError || (error instanceof Error && error.name === 'TimeoutError')) return undefined;
  throw error;
}

/** `scripts/servers.sh ensure|stop` with the test's settings; its output. */
export async function servers(verb: 'ensure' | 'stop', env: Record<string, string>): Promise<string> {
  const { stdout, stderr } = await exec('scripts/servers.sh', [verb], { env, timeout: 300_000 });
  return stdout + stderr;
}

export async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => socket.end(() => resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port below 30000 that is free together with its RabbitMQ companions (management at +10000, Erlang
 * distribution at +20000), so that one number serves as Redis's or RabbitMQ's port alike.
 */
export async function freeServerPort(taken: number[] = []): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const ports = [port, port + 10_000, port + 20_000];
    if (taken.includes(port)) continue;
    if ((await Promise.all(ports.map(bindable))).every(Boolean)) return port;
  }
}
