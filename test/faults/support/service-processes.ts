import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { request } from './http-client.js';

/** Every child started here, so that a failing or interrupted run never leaves one behind. */
const everyChild = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of everyChild) child.kill('SIGKILL');
});

export interface ProcessSpec {
  name: string;
  /** Arguments after `node --import tsx`. */
  args: string[];
  env: Record<string, string>;
  /** Polled after spawning until true; the process counts as up from then on. */
  isUp: () => Promise<boolean>;
}

/**
 * One OS process of the service (or of the simulator), started with `node --import tsx`, its output appended
 * to a log file. kill() is SIGKILL, the crash under test; an exit that nobody asked for is recorded, since a
 * process that dies by itself is a bug.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private expectingExit = false;
  private up = false;
  starts = 0;
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly spec: ProcessSpec,
    private readonly logDir: string,
  ) {}

  get isUp(): boolean {
    return this.up && this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logFile(): string {
    return path.join(this.logDir, `${this.spec.name}.log`);
  }

  async start(deadlineMs = 60_000): Promise<void> {
    if (this.child) throw new Error(`${this.spec.name} is already running`);
    this.log ??= createWriteStream(this.logFile, { flags: 'a' });
    this.log.write(`--- start ${++this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', ...this.spec.args], {
      cwd: process.cwd(),
      // FAULTS_NODE_OPTIONS reaches the children (e.g. --require a diagnostic hook); nothing else of the test's environment does.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', NODE_OPTIONS: process.env.FAULTS_NODE_OPTIONS ?? '', ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    everyChild.add(child);
    this.child = child;
    this.expectingExit = false;
    this.up = false;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    child.once('exit', (code, signal) => {
      everyChild.delete(child);
      if (this.child === child) {
        this.child = undefined;
        this.up = false;
      }
      if (!this.expectingExit) this.unexpectedExits.push(`${this.spec.name} exited by itself (code ${code}, signal ${signal}); see ${this.logFile}`);
    });
    const end = Date.now() + deadlineMs;
    while (!(await this.spec.isUp().catch(() => false))) {
      if (this.child !== child) throw new Error(`${this.spec.name} exited while starting; see ${this.logFile}`);
      if (Date.now() > end) throw new Error(`${this.spec.name} not up within ${deadlineMs} ms; see ${this.logFile}`);
      await sleep(100);
    }
    this.up = true;
  }

  /** SIGKILL (or another signal) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    this.up = false;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** SIGTERM (the graceful shutdown), SIGKILL if it takes longer than graceMs. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }
}

export interface ServiceSettings {
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  /** Seeds of the step's Redis Cluster ('' for the machine's Redis at redisUrl). */
  redisClusterNodes: string;
  redisPrefix: string;
  sagaTimeout: string;
  /** AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE of the step's identity service: the services run with authentication on. */
  auth: Record<string, string>;
  /** Settings of the step's broker for every process (QUEUE_TYPE on a cluster). */
  brokerEnv: Record<string, string>;
}

/** The roles of a service process: every role unless a step splits them. */
export const EVERY_ROLE = 'http,relay,consumers,scheduler';

/**
 * A service process with the given roles, up once its /readyz on `port` says so: the API's port with `http`, the
 * operations listener's (METRICS_PORT) without it.
 */
export function serviceProcess(name: string, port: number, settings: ServiceSettings, logDir: string, roles = EVERY_ROLE): ManagedProcess {
  const http = roles.split(',').includes('http');
  return new ManagedProcess(
    {
      name,
      args: ['src/main.ts'],
      env: {
        PORT: String(port),
        // Without role http, /readyz (and /metrics) are served on METRICS_PORT only.
        ...(http ? {} : { METRICS_PORT: String(port) }),
        ROLES: roles,
        DATABASE_URL: settings.databaseUrl,
        AMQP_URL: settings.amqpUrl,
        REDIS_URL: settings.redisUrl,
        REDIS_CLUSTER_NODES: settings.redisClusterNodes,
        REDIS_KEY_PREFIX: settings.redisPrefix,
        SAGA_TIMEOUT: settings.sagaTimeout,
        LOG_LEVEL: 'warn',
        ...settings.auth,
        ...settings.brokerEnv,
      },
      // Up once it answers and, with the API, has the identity service's keys (other dependencies may be down on
      // purpose; /readyz then takes up to DEPENDENCY_TIMEOUT, 2 s, to say so). A process without the API checks
      // no tokens, and its operations listener serves no /openapi.json to hold the answer to (request() would).
      isUp: http
        ? async () => {
            const answer = await request(port, 'GET', '/readyz', undefined, 5_000);
            return answer.ok && (JSON.parse(answer.text) as { checks?: { auth?: string } }).checks?.auth === 'up';
          }
        : () => operationsReady(port),
    },
    logDir,
  );
}

/** The operations listener of a process without the API (METRICS_PORT) says ready. */
async function operationsReady(port: number): Promise<boolean> {
  const answer = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  await answer?.body?.cancel();
  return answer?.status === 200;
}

/** The customer-service simulator: approves about `approvePercent`% of the orders, the same ones for a seed. */
export function simulatorProcess(settings: ServiceSettings, approvePercent: number, seed: number, logDir: string, isUp: () => Promise<boolean>, name = 'customer-sim'): ManagedProcess {
  return new ManagedProcess(
    {
      name,
      args: ['src/tools/customer-sim.ts', '--rule', 'percent', '--approve', String(approvePercent), '--seed', String(seed)],
      env: { AMQP_URL: settings.amqpUrl, DATABASE_URL: settings.databaseUrl, REDIS_URL: settings.redisUrl, LOG_LEVEL: 'warn', ...settings.brokerEnv },
      isUp,
    },
    logDir,
  );
}
