/**
 * GET /api/v1/orders/user/:userID from the Redis projection, beside a floor: an Express endpoint in the same
 * server process that answers one Redis string of the same size (GET + send, no parsing, no mediator).
 * Seeds a fresh database (bench_<random>) with BENCH_USERS users of 10 approved orders each, builds the
 * projections with the rebuild command's code, then drives each endpoint with BENCH_CONNECTIONS keep-alive
 * connections for BENCH_SECONDS, in BENCH_ROUNDS alternating slices (floor, service, floor, ...: a burst of other
 * work on this shared machine then lands on both, not on one). Prints requests/s, p50, p99 and the ratio to the
 * floor (target >= 0.75x, issue 13); never passes or fails. The server runs in a child process so the load
 * generator does not share its event loop.
 *
 * Settings by environment: BENCH_USERS (300), BENCH_CONNECTIONS (32), BENCH_SECONDS (10), BENCH_ROUNDS (4),
 * BENCH_WARMUP_SECONDS (2), BENCH_SERVER_NODE_ARGS (node options for the server child, e.g. --cpu-prof).
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import express from 'express';
import { Redis } from 'ioredis';
import type { RedisClient } from '../src/platform/cache/redis.js';
import { composeService, type Service } from '../src/composition/service.js';
import { createServiceApp } from '../src/composition/http-role.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { CreateProduct } from '../src/catalog/create-product.js';
import { CreateAddress } from '../src/customers/create-address.js';
import { CreateUser } from '../src/customers/create-user.js';
import { CreateOrder } from '../src/orders/create-order.js';
import { ApproveOrder } from '../src/orders/saga/saga-reply-commands.js';
import { sql } from '../src/platform/database/sql.js';
import { ProjectionRebuild } from '../src/orders/projection/projection-rebuild.js';
import { BENCH_REDIS_URL, createBenchEnvironment, printLoad, printMachine, round } from './support/bench-env.js';
import { stopOnInterrupt } from './support/interrupt.js';
import { authHeaders, authSettings } from './support/bench-auth.js';
import { getLoad, mergeLoads, withServerCpu, type GetLoadResult, type MeasuredLoad } from './support/http-load.js';

const USERS = Number(process.env.BENCH_USERS ?? 300);
const ORDERS_PER_USER = 10;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const FLOOR_KEY = 'bench:floor';
/** Extra node options for the server child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

if (process.argv.includes('--serve')) await serve();
else await measure();

/** Parent: seed, build, start the server child, load both endpoints, print, clean up. */
async function measure(): Promise<void> {
  const env = await createBenchEnvironment();
  const prefix = env.redisPrefix;
  const redis = new Redis(BENCH_REDIS_URL, { keyPrefix: prefix });
  let server: ChildProcess | undefined;
  // Interrupted (Ctrl-C, a timeout), the server child and the environment with its keys go all the same (interrupt.ts).
  const cleanup = async () => {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null && server.signalCode === null) await once(server, 'exit').catch(() => undefined);
    redis.disconnect();
    await env.cleanup();
  };
  try {
    printMachine('GET /api/v1/orders/user/:userID (Redis projection) vs a one-string Redis floor', {
      users: USERS,
      orders_per_user: ORDERS_PER_USER,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      warmup_seconds: WARMUP_SECONDS,
      load_generator: 'node http.Agent keepAlive, in the parent process',
      server: 'child process: the service app as role http builds it + a bare Express floor app, LOG_LEVEL warn',
    });
    const userIds = await seed(env.config({ REDIS_KEY_PREFIX: prefix }));
    server = fork(process.argv[1]!, ['--serve'], { env: { ...process.env, BENCH_DATABASE_URL: env.databaseUrl, BENCH_AMQP_URL: env.amqpUrl, BENCH_PREFIX: prefix }, execArgv: [...process.execArgv, ...SERVER_NODE_ARGS] });
    stopOnInterrupt(server);
    const [{ port, floorPort }] = (await once(server, 'message')) as [{ port: number; floorPort: number }];
    const base = `http://127.0.0.1:${port}`;
    const sample = await fetchText(`${base}/api/v1/orders/user/${userIds[0]}`, authHeaders());
    await redis.set(FLOOR_KEY, sample);
    console.log(`response: ${Buffer.byteLength(sample)} bytes (${JSON.parse(sample).count} orders); floor string: ${Buffer.byteLength((await redis.get(FLOOR_KEY))!)} bytes`);

    const projectionPath = () => `/api/v1/orders/user/${userIds[Math.floor(Math.random() * userIds.length)]}`;
    const load = (target: number, path: () => string, seconds: number) => getLoad(target, path, seconds, CONNECTIONS, target === port ? authHeaders() : {});
    await load(floorPort, () => '/floor', WARMUP_SECONDS);
    await load(port, projectionPath, WARMUP_SECONDS);
    const floorSlices: MeasuredLoad[] = [];
    const projectionSlices: MeasuredLoad[] = [];
    for (let slice = 0; slice < ROUNDS; slice++) {
      floorSlices.push(await withServerCpu(server, () => load(floorPort, () => '/floor', SECONDS / ROUNDS)));
      projectionSlices.push(await withServerCpu(server, () => load(port, projectionPath, SECONDS / ROUNDS)));
    }
    const [floor, projection] = [mergeLoads(floorSlices), mergeLoads(projectionSlices)];
    report('floor (Express + one Redis GET)', floor);
    report('projection (GET /api/v1/orders/user/:userID)', projection);
    console.log(`ratio: ${round(projection.rps / floor.rps, 2)}x the floor's requests/s (target >= 0.75x)`);
    // On a shared machine requests/s swing with other work; server CPU per request is steadier.
    console.log(`cpu ratio: ${round(floor.serverCpuMs! / projection.serverCpuMs!, 2)}x (floor's server cpu per request / projection's)`);
    const reads = (await fetchText(`${base}/metrics`)).split('\n').filter((line) => line.startsWith('projection_reads_total'));
    console.log(`server counters: ${reads.join(', ')}`);
    printLoad('load after');
  } finally {
    await cleanup();
  }
}

/** Users with ORDERS_PER_USER approved orders each, through the mediator; then ANALYZE and a full projection rebuild. */
async function seed(config: Parameters<typeof composeService>[0]): Promise<string[]> {
  const started = performance.now();
  const service = composeService(config, { logger: createLogger({ level: 'warn' }), defaultMetrics: false });
  const send = service.mediator.send.bind(service.mediator);
  const addressID = randomUUID();
  await send(CreateAddress, { addressID, buildingNumber: 44, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' }, 'bench');
  const products = Array.from({ length: 20 }, (_, i) => ({ productID: randomUUID(), name: `Bench product ${i}`, description: 'd', price: 10 + i * 3.25, discount: i % 30 }));
  for (const product of products) await send(CreateProduct, product, 'bench');
  const userIds = Array.from({ length: USERS }, () => randomUUID());
  await inBatches(userIds, 16, (userID, i) => send(CreateUser, { userID, username: `bench user ${i}`, addressID }, 'bench'));
  const orders = userIds.flatMap((userID) => Array.from({ length: ORDERS_PER_USER }, () => ({ userID, orderID: randomUUID() })));
  await inBatches(orders, 16, async ({ userID, orderID }, i) => {
    const productsIDs = Array.from({ length: 1 + (i % 4) }, (_, k) => products[(i * 7 + k * 3) % products.length]!.productID);
    await send(CreateOrder, { orderID, userID, paymentMethod: 'Card', productsIDs, deliveryAddress: addressID }, 'bench');
    await send(ApproveOrder, { orderID }, 'bench');
  });
  await service.database.read(sql`ANALYZE`);
  const seeded = performance.now();
  await whenReady(service.redis);
  const built = await service.resolve(ProjectionRebuild).rebuildAll();
  console.log(
    `seeded ${userIds.length} users, ${orders.length} approved orders in ${round((seeded - started) / 1000)} s; ` +
      `projections rebuilt (${built.users} users, ${built.orders} orders) in ${round((performance.now() - seeded) / 1000, 2)} s`,
  );
  await service.close();
  return userIds;
}

/**
 * Child: the service's HTTP app exactly as role `http` builds it, and the floor on a bare Express app beside it,
 * in the same process (two listeners, so the service's app is not nested and pays no extra routing).
 */
async function serve(): Promise<void> {
  const prefix = process.env.BENCH_PREFIX!;
  const { parseConfig } = await import('../src/config.js');
  const config = parseConfig({ DATABASE_URL: process.env.BENCH_DATABASE_URL, AMQP_URL: process.env.BENCH_AMQP_URL, REDIS_URL: BENCH_REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn', PORT: '0', ...authSettings() });
  const service: Service = composeService(config, { logger: createLogger({ level: 'warn' }) });
  await whenReady(service.redis);
  while (service.accessTokens && !service.accessTokens.keys.ready) await new Promise((resolve) => setTimeout(resolve, 50));
  const floor = express();
  floor.disable('x-powered-by');
  floor.get('/floor', async (_req, res) => {
    res.type('application/json').send(await service.redis.get(FLOOR_KEY));
  });
  const app = createServiceApp(service);
  const listeners = [app.listen(0), floor.listen(0)];
  for (const listener of listeners) {
    if (!listener.listening) await once(listener, 'listening');
    listener.keepAliveTimeout = 65_000;
  }
  const [port, floorPort] = listeners.map((listener) => (listener.address() as { port: number }).port);
  process.send!({ port, floorPort });
  process.on('message', (message) => {
    if (message === 'cpu') process.send!(process.cpuUsage());
  });
  process.on('SIGTERM', () => {
    for (const listener of listeners) {
      listener.close();
      listener.closeAllConnections();
    }
    void service.close().finally(() => process.exit(0));
  });
}

function report(name: string, result: GetLoadResult): void {
  console.log(
    `${name}: ${Math.round(result.rps)} requests/s, p50 ${round(result.p50, 2)} ms, p99 ${round(result.p99, 2)} ms, ` +
      `server cpu ${round(result.serverCpuMs ?? Number.NaN, 3)} ms/request (${result.requests} requests, ${result.errors} errors)`,
  );
}

async function fetchText(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}

async function inBatches<T>(items: T[], size: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, k) => work(item, start + k)));
  }
}

/** The service's client has no offline queue: wait until it is connected before using it. */
async function whenReady(redis: RedisClient): Promise<void> {
  if (redis.status !== 'ready') await Promise.race([once(redis, 'ready'), new Promise((_, reject) => setTimeout(() => reject(new Error('redis not ready')), 5_000))]);
}

