/**
 * The service as it is deployed (Dockerfile): the compiled build, `NODE_ENV=production node dist/main.js`,
 * with ROLES and the environment's database, vhost and Redis key prefix, as its own OS process (no benchmark
 * hooks inside, unlike service-process.ts). The build is `tsc -p tsconfig.build.json` into bench/results/dist
 * (git-ignored), made once per run. BENCH_SERVICE_RUNTIME=tsx runs `node --import tsx src/main.ts` instead
 * (tsx's loader and source maps add memory). The build gets the Dockerfile's NODE_OPTIONS (the heap cap). BENCH_CPU_PROF_DIR=<dir> starts it under `node --cpu-prof`; the
 * profile is written when it exits. BENCH_SERVICE_NODE_ARGS adds node options (e.g. --max-semi-space-size=4).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { BenchEnvironment } from './bench-env.js';
import { stopOnInterrupt } from './interrupt.js';

export const DIST_DIR = 'bench/results/dist';
const RUNTIME = process.env.BENCH_SERVICE_RUNTIME ?? 'dist';
let built: Promise<void> | undefined;

/** Compiles src/ into DIST_DIR, once per process; BENCH_DIST_READY=1 says a parent (run-all) already did. */
export function ensureBuild(): Promise<void> {
  if (RUNTIME !== 'dist' || process.env.BENCH_DIST_READY === '1') return Promise.resolve();
  built ??= promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', DIST_DIR], { timeout: 120_000 })
    .then(() => undefined)
    // tsc exits non-zero on a type error elsewhere but still emits; a missing main.js is what matters.
    .catch(async (error) => {
      const { access } = await import('node:fs/promises');
      await access(`${DIST_DIR}/main.js`).catch(() => Promise.reject(error));
    });
  return built;
}

/**
 * The service as an earlier commit built it, to measure a change against the code before it in the same run
 * (BENCH_BASELINE_REF): a detached git worktree of that commit under /tmp, sharing this tree's node_modules and
 * generated Prisma client (the change must not touch the schema), compiled into its own dist/. Made once per commit.
 */
export async function ensureBaselineBuild(ref: string): Promise<string> {
  const run = promisify(execFile);
  const sha = (await run('git', ['rev-parse', '--verify', `${ref}^{commit}`])).stdout.trim();
  const dir = `/tmp/order-service-baseline-${sha.slice(0, 12)}`;
  const { existsSync, symlinkSync, cpSync } = await import('node:fs');
  if (!existsSync(`${dir}/dist/main.js`)) {
    if (!existsSync(dir)) await run('git', ['worktree', 'add', '--detach', dir, sha]);
    if (!existsSync(`${dir}/node_modules`)) symlinkSync(`${process.cwd()}/node_modules`, `${dir}/node_modules`);
    cpSync('src/generated', `${dir}/src/generated`, { recursive: true });
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', 'dist'], { cwd: dir, timeout: 180_000 }).catch(() => undefined);
    if (!existsSync(`${dir}/dist/main.js`)) throw new Error(`the baseline ${ref} (${sha}) did not build in ${dir}`);
  }
  return `${dir}/dist`;
}

/** The node arguments that run a module of src/ (`main`, `tools/customer-sim`) in the configured runtime. */
export async function serviceCommand(module: string, distDir = DIST_DIR): Promise<{ args: string[]; env: Record<string, string> }> {
  await ensureBuild();
  return RUNTIME === 'dist'
    ? { args: [`${distDir}/${module}.js`], env: { NODE_ENV: 'production', NODE_OPTIONS: joinedNodeOptions(deployedNodeOptions()) } }
    : { args: ['--import', 'tsx', `src/${module}.ts`], env: {} };
}

/** NODE_OPTIONS as the Dockerfile sets it for the service (the heap cap), so the build runs as deployed. */
export function deployedNodeOptions(): string {
  // A what-if measures the service without them (BENCH_DEPLOYED_NODE_OPTIONS='') or with others.
  if (process.env.BENCH_DEPLOYED_NODE_OPTIONS !== undefined) return process.env.BENCH_DEPLOYED_NODE_OPTIONS;
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const match = /^\s*NODE_OPTIONS=(\S+(?:\s+\S+)*?)\s*\\?$/m.exec(dockerfile);
  if (!match) throw new Error('Dockerfile sets no NODE_OPTIONS line: the benchmark would not run the service as deployed');
  return match[1]!.replace(/^"|"$/g, '');
}

/** The deployed options plus any this run adds (a what-if's preload), which the child would otherwise lose. */
function joinedNodeOptions(deployed: string): string {
  return [deployed, process.env.NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
}

export interface MainProcess {
  pid: number;
  /** Where it answers /readyz and /metrics: the API's port with role http, else its METRICS_PORT. */
  port: number;
  /** When the process was spawned, on performance.now()'s clock: where its CPU profile starts. */
  spawnedAt: number;
  stop(): Promise<void>;
}

export interface MainOptions {
  roles: string;
  env?: Record<string, string>;
  /** Wait for this before resolving: /readyz answering 200 (http roles), or a fixed settle time. */
  readyTimeoutMs?: number;
  /** Another build of the service (ensureBaselineBuild); default this tree's. */
  distDir?: string;
}

export async function spawnMain(bench: BenchEnvironment, options: MainOptions): Promise<MainProcess> {
  const port = await freePort();
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const extra = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const command = await serviceCommand('main', options.distDir);
  const spawnedAt = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...profile, ...extra, ...command.args], {
    env: {
      ...process.env,
      ...command.env,
      DATABASE_URL: bench.databaseUrl,
      AMQP_URL: bench.amqpUrl,
      REDIS_KEY_PREFIX: bench.redisPrefix,
      LOG_LEVEL: 'warn',
      PORT: String(port),
      // Without role http, /metrics and /readyz are served on METRICS_PORT only.
      ...(servesApi(options.roles) ? {} : { METRICS_PORT: String(port) }),
      ROLES: options.roles,
      ...options.env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  stopOnInterrupt(child);
  const exited = once(child, 'exit');
  await Promise.race([
    whenReady(port, options.readyTimeoutMs ?? 60_000),
    exited.then(([code]) => Promise.reject(new Error(`the service (ROLES=${options.roles}) exited with ${code} before it was ready`))),
  ]).catch((error: unknown) => {
    // Not ready in time: nothing else would stop it.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  });
  return {
    pid: child.pid!,
    port,
    spawnedAt,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The kernel's pick of a free port, released at once for the child to take. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const servesApi = (roles: string) => roles === 'all' || roles.split(',').includes('http');

/** /readyz says PostgreSQL, Redis and RabbitMQ are reachable (on the API's port, or on METRICS_PORT without role http). */
async function whenReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((res) => res.ok, () => false);
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`the service on port ${port} was not ready within ${timeoutMs} ms`);
}

/** How the service runs, for the settings line. */
export function serviceRuntimeLabel(): string {
  return RUNTIME === 'dist' ? 'NODE_ENV=production node dist/main.js (tsc build)' : 'node --import tsx src/main.ts';
}
