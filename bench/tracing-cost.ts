/**
 * What tracing costs per request. Tracing is per process (the instrumentations patch modules as they load), so
 * three server children serve the service's app as role `http` builds it: tracing off (no OTEL endpoint: the
 * shipped default), on with every request sampled, and on with 10% sampled (parentbased_traceidratio); the two
 * traced ones export over OTLP/HTTP (protobuf, batched) to a sink in this process that reads and drops what it
 * gets, as Tempo would take it. The parent drives POST /api/v1/orders (the write path: request, command, one read,
 * one INSERT with the outbox rows and their trace columns) through each in alternating slices and prints
 * requests/s, p50, p99 and each child's CPU per request, export included. Prints figures; never passes or fails.
 *
 * Settings by environment: BENCH_CONNECTIONS (16), BENCH_SECONDS (6 per variant, in BENCH_ROUNDS=2 slices),
 * BENCH_WARMUP_SECONDS (1).
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBenchEnvironment, printLoad, printMachine, round } from './support/bench-env.js';
import { mergeLoads, withServerCpu } from './support/http-load.js';
import { postLoad, seedOrderCatalog, type PostLoadResult } from './support/post-load.js';
import { stopOnInterrupt } from './support/interrupt.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);

const VARIANTS: { name: string; env: Record<string, string> }[] = [
  { name: 'tracing off', env: {} },
  { name: 'tracing on, all sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
  { name: 'tracing on, 10% sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' } },
];

if (process.argv.includes('--serve')) await serve();
else await measure();

async function measure(): Promise<void> {
  const env = await createBenchEnvironment();
  const sink = await startSink();
  const children: ChildProcess[] = [];
  try {
    printMachine('the cost of tracing: POST /api/v1/orders with tracing off, on (all sampled) and on (10% sampled)', {
      connections: CONNECTIONS,
      seconds_per_variant: SECONDS,
      rounds: ROUNDS,
      server: 'three child processes: the service app as role http builds it, LOG_LEVEL warn; traced ones export OTLP/HTTP to a local sink',
    });
    const catalog = await seedOrderCatalog(env.config());
    const ports: number[] = [];
    for (const variant of VARIANTS) {
      const tracing = variant.env.OTEL_TRACES_SAMPLER ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, ...variant.env } : {};
      const child = fork(process.argv[1]!, ['--serve'], { env: { ...process.env, ...tracing, DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl, LOG_LEVEL: 'warn', PORT: '0' } });
      children.push(child);
      stopOnInterrupt(child);
      const [ready] = (await once(child, 'message')) as [{ port: number }];
      ports.push(ready.port);
    }
    for (const port of ports) await postLoad(port, catalog, WARMUP_SECONDS, CONNECTIONS);
    const results = VARIANTS.map((): PostLoadResult[] => []);
    for (let slice = 0; slice < ROUNDS; slice++) {
      // Each round starts with another variant, so none always follows the same one's garbage.
      for (let k = 0; k < VARIANTS.length; k++) {
        const index = (slice + k) % VARIANTS.length;
        results[index]!.push(await withServerCpu(children[index]!, () => postLoad(ports[index]!, catalog, SECONDS / ROUNDS, CONNECTIONS)));
      }
    }
    const merged = results.map(mergeLoads);
    merged.forEach((result, index) => report(VARIANTS[index]!.name, result));
    const off = merged[0]!.serverCpuMs;
    const extra = (result: PostLoadResult) => `${signed(result.serverCpuMs - off, 3)} ms (${signed(((result.serverCpuMs - off) / off) * 100, 1)}%)`;
    console.log(`tracing cost: all sampled ${extra(merged[1]!)}, 10% sampled ${extra(merged[2]!)} server cpu per request over tracing off`);
    console.log(`exported: ${sink.requests} OTLP requests, ${Math.round(sink.bytes / 1024)} KiB`);
    printLoad('load after');
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
    sink.close();
    await env.cleanup();
  }
}

/** Child: tracing first (when its environment asks for it), then the service, as main.ts orders them. */
async function serve(): Promise<void> {
  const { startTracing } = await import('../src/platform/observability/tracing.js');
  const tracing = await startTracing(process.env);
  const { parseConfig } = await import('../src/config.js');
  const { composeService } = await import('../src/composition/service.js');
  const { createServiceApp } = await import('../src/composition/http-role.js');
  const { createLogger } = await import('../src/platform/observability/logger.js');
  const service = composeService(parseConfig(process.env), { logger: createLogger({ level: 'warn' }), defaultMetrics: false });
  // With BENCH_AUTH=1 (AUTH_* inherited from the parent): ready once the identity service's keys are loaded, or
  // the first requests would be answered 503.
  await whenKeysLoaded(service);
  const server = createServiceApp(service).listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000;
  process.send!({ port: (server.address() as AddressInfo).port });
  process.on('message', (message) => {
    if (message === 'cpu') process.send!(process.cpuUsage());
  });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void Promise.all([service.close(), tracing.shutdown()]).finally(() => process.exit(0));
  });
}

async function whenKeysLoaded(service: { accessTokens?: { keys: { ready: boolean } } }): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (service.accessTokens && !service.accessTokens.keys.ready) {
    if (Date.now() > deadline) throw new Error('the identity service keys were not loaded within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An OTLP/HTTP endpoint that reads and drops every export. */
async function startSink() {
  const state = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (state.bytes += chunk.length));
    request.on('end', () => {
      state.requests++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    get bytes() {
      return state.bytes;
    },
    close: () => server.close(),
  };
}

function report(name: string, result: PostLoadResult): void {
  console.log(
    `${name}: ${Math.round(result.rps)} requests/s, p50 ${round(result.p50, 2)} ms, p99 ${round(result.p99, 2)} ms, ` +
      `server cpu ${round(result.serverCpuMs, 3)} ms/request (${result.requests} requests, ${result.errors} errors)`,
  );
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${round(value, digits)}`;
}
