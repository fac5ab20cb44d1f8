/**
 * What checking a bearer token costs per request. One server process (a child) serves the service's app twice,
 * as role `http` builds it: once without authentication, once with it against a development identity service in
 * the same child (ES256 and RS256 keys made for this run). The parent drives GET /api/v1/orders/user/:userID (a
 * Redis projection hit, the cheapest API read, so the check weighs most) through each in alternating slices and
 * prints requests/s, p50, p99 and the server's CPU per request; the difference in CPU is the token check. Clients
 * send one token until it expires, which the service verifies once and then remembers; a variant sends a new
 * token on every request (a pool larger than the service remembers), so each is verified. The child also times
 * AccessTokens.verify alone on new tokens. Prints figures; never passes or fails.
 *
 * Settings by environment: BENCH_CONNECTIONS (16), BENCH_SECONDS (8 per variant, in BENCH_ROUNDS=4 slices),
 * BENCH_WARMUP_SECONDS (1), BENCH_VERIFY_COUNT (2000 per algorithm).
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { composeService, type Service } from '../src/composition/service.js';
import { parseConfig } from '../src/config.js';
import { createServiceApp } from '../src/composition/http-role.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { CreateAddress } from '../src/customers/create-address.js';
import { CreateProduct } from '../src/catalog/create-product.js';
import { CreateUser } from '../src/customers/create-user.js';
import { CreateOrder } from '../src/orders/create-order.js';
import { ApproveOrder } from '../src/orders/saga/saga-reply-commands.js';
import { ProjectionRebuild } from '../src/orders/projection/projection-rebuild.js';
import { generateSigningKey, JWKS_PATH, mintToken, serveJwks, type SigningAlgorithm } from '../src/tools/dev-identity.js';
import { BENCH_REDIS_URL, createBenchEnvironment, printLoad, printMachine, round } from './support/bench-env.js';
import { getLoad, mergeLoads, withServerCpu, type GetLoadResult, type MeasuredLoad } from './support/http-load.js';
import { stopOnInterrupt } from './support/interrupt.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const VERIFY_COUNT = Number(process.env.BENCH_VERIFY_COUNT ?? 2000);
/** More tokens than the service remembers (src/platform/auth/access-tokens.ts), so a token comes back only once forgotten. */
const FRESH_TOKENS = 12_000;
const ISSUER = 'bench-identity';
const AUDIENCE = 'order-service';

interface Served {
  offPort: number;
  onPort: number;
  tokens: Record<SigningAlgorithm, string>;
  /** FRESH_TOKENS distinct ES256 tokens of the same user. */
  fresh: string[];
  /** CPU microseconds per AccessTokens.verify, timed in the child. */
  verifyMicros: Record<SigningAlgorithm, number>;
}

if (process.argv.includes('--serve')) await serve();
else await measure();

async function measure(): Promise<void> {
  const env = await createBenchEnvironment();
  const prefix = env.redisPrefix;
  let server: ChildProcess | undefined;
  try {
    printMachine('the cost of checking a bearer token: GET /api/v1/orders/user/:userID with authentication off and on', {
      connections: CONNECTIONS,
      seconds_per_variant: SECONDS,
      rounds: ROUNDS,
      verify_count: VERIFY_COUNT,
      server: 'child process: the service app as role http builds it, twice (authentication off | on), LOG_LEVEL warn',
    });
    const userId = await seed(env.config({ REDIS_KEY_PREFIX: prefix }));
    server = fork(process.argv[1]!, ['--serve'], { env: { ...process.env, BENCH_DATABASE_URL: env.databaseUrl, BENCH_AMQP_URL: env.amqpUrl, BENCH_PREFIX: prefix, BENCH_USER: userId } });
    stopOnInterrupt(server);
    const [served] = (await once(server, 'message')) as [Served];
    let next = 0;
    const freshToken = () => ({ authorization: `Bearer ${served.fresh[next++ % served.fresh.length]}` });
    const variants: { name: string; port: number; headers: () => Record<string, string> }[] = [
      { name: 'auth off', port: served.offPort, headers: () => ({}) },
      { name: 'auth on, one ES256 token', port: served.onPort, headers: () => ({ authorization: `Bearer ${served.tokens.ES256}` }) },
      { name: 'auth on, one RS256 token', port: served.onPort, headers: () => ({ authorization: `Bearer ${served.tokens.RS256}` }) },
      { name: 'auth on, a new ES256 token each request', port: served.onPort, headers: freshToken },
    ];
    const path = () => `/api/v1/orders/user/${userId}`;
    for (const variant of variants) await getLoad(variant.port, path, WARMUP_SECONDS, CONNECTIONS, variant.headers);
    const results = new Map<string, MeasuredLoad[]>();
    for (let slice = 0; slice < ROUNDS; slice++) {
      // Each round starts with another variant, so none always pays for the garbage of the one before it.
      for (const variant of [...variants.slice(slice % variants.length), ...variants.slice(0, slice % variants.length)]) {
        const result = await withServerCpu(server, () => getLoad(variant.port, path, SECONDS / ROUNDS, CONNECTIONS, variant.headers));
        results.set(variant.name, [...(results.get(variant.name) ?? []), result]);
      }
    }
    const merged = variants.map((variant) => ({ name: variant.name, ...mergeLoads(results.get(variant.name)!) }));
    for (const result of merged) report(result.name, result);
    const off = merged[0]!.serverCpuMs!;
    const signed = (value: number, digits: number) => `${value >= 0 ? '+' : ''}${round(value, digits)}`;
    const extra = (result: (typeof merged)[number]) => `${signed(result.serverCpuMs! - off, 3)} ms (${signed(((result.serverCpuMs! - off) / off) * 100, 1)}%)`;
    console.log(`token check cost, one token per client (verified once, then remembered): ES256 ${extra(merged[1]!)}, RS256 ${extra(merged[2]!)} server cpu per request over auth off`);
    console.log(`token check cost, a new ES256 token on every request: ${extra(merged[3]!)} server cpu per request over auth off`);
    console.log(`verify alone, a new token each time: ES256 ${round(served.verifyMicros.ES256, 1)} us, RS256 ${round(served.verifyMicros.RS256, 1)} us cpu per token (AccessTokens.verify, ${VERIFY_COUNT} each in a loop)`);
    printLoad('load after');
  } finally {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null && server.signalCode === null) await once(server, 'exit').catch(() => undefined);
    await env.cleanup();
  }
}

/** One user with ten approved orders, projected into Redis. */
async function seed(config: Parameters<typeof composeService>[0]): Promise<string> {
  const service = composeService(config, { logger: createLogger({ level: 'warn' }), defaultMetrics: false });
  const send = service.mediator.send.bind(service.mediator);
  const [addressID, userID, productID] = [randomUUID(), randomUUID(), randomUUID()];
  await send(CreateAddress, { addressID, buildingNumber: 44, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' }, 'bench');
  await send(CreateProduct, { productID, name: 'Bench product', description: 'd', price: 10, discount: 0 }, 'bench');
  await send(CreateUser, { userID, username: 'bench user', addressID }, 'bench');
  for (let i = 0; i < 10; i++) {
    const orderID = randomUUID();
    await send(CreateOrder, { orderID, userID, paymentMethod: 'Card', productsIDs: [productID], deliveryAddress: addressID }, 'bench');
    await send(ApproveOrder, { orderID }, 'bench');
  }
  await whenReady(() => service.redis.status === 'ready');
  await service.resolve(ProjectionRebuild).rebuildAll();
  await service.close();
  return userID;
}

/** Child: the two apps, the identity service, the tokens, and verify() timed alone. */
async function serve(): Promise<void> {
  const keys = [await generateSigningKey('ES256'), await generateSigningKey('RS256')];
  const jwks = await serveJwks(() => keys, '127.0.0.1', 0);
  const settings = { DATABASE_URL: process.env.BENCH_DATABASE_URL, AMQP_URL: process.env.BENCH_AMQP_URL, REDIS_URL: BENCH_REDIS_URL, REDIS_KEY_PREFIX: process.env.BENCH_PREFIX, LOG_LEVEL: 'warn', PORT: '0' };
  const auth = { AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as { port: number }).port}${JWKS_PATH}`, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE };
  const services = [parseConfig(settings), parseConfig({ ...settings, ...auth })].map((config) => composeService(config, { logger: createLogger({ level: 'warn' }), defaultMetrics: false }));
  const on = services[1]!;
  await whenReady(() => services.every((service) => service.redis.status === 'ready') && on.accessTokens!.keys.ready);
  const mint = (alg: SigningAlgorithm) => mintToken(keys.find((key) => key.alg === alg)!, { sub: process.env.BENCH_USER!, scope: 'orders:read', issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 3600 });
  const many = async (alg: SigningAlgorithm, count: number) => Promise.all(Array.from({ length: count }, () => mint(alg)));
  const tokens = { ES256: await mint('ES256'), RS256: await mint('RS256') };
  const verifyMicros = { ES256: await timeVerify(on, await many('ES256', VERIFY_COUNT + 200)), RS256: await timeVerify(on, await many('RS256', VERIFY_COUNT + 200)) };
  const fresh = await many('ES256', FRESH_TOKENS);
  const listeners = await Promise.all(services.map((service) => listen(service)));
  const [offPort, onPort] = listeners.map((listener) => (listener.address() as { port: number }).port) as [number, number];
  process.send!({ offPort, onPort, tokens, fresh, verifyMicros } satisfies Served);
  process.on('message', (message) => {
    if (message === 'cpu') process.send!(process.cpuUsage());
  });
  process.on('SIGTERM', () => {
    for (const listener of [...listeners, jwks]) listener.close();
    for (const listener of listeners) listener.closeAllConnections();
    void Promise.all(services.map((service) => service.close())).finally(() => process.exit(0));
  });
}

/** CPU microseconds per verify() of a token it has not seen (the first 200 warm up). */
async function timeVerify(service: Service, tokens: string[]): Promise<number> {
  for (const token of tokens.slice(0, 200)) await service.accessTokens!.verify(token);
  const before = process.cpuUsage();
  for (const token of tokens.slice(200)) await service.accessTokens!.verify(token);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (tokens.length - 200);
}

async function listen(service: Service): Promise<Server> {
  const listener = createServiceApp(service).listen(0, '127.0.0.1');
  await once(listener, 'listening');
  listener.keepAliveTimeout = 65_000;
  return listener;
}

function report(name: string, result: GetLoadResult): void {
  console.log(
    `${name}: ${Math.round(result.rps)} requests/s, p50 ${round(result.p50, 2)} ms, p99 ${round(result.p99, 2)} ms, ` +
      `server cpu ${round(result.serverCpuMs!, 3)} ms/request (${result.requests} requests, ${result.errors} errors)`,
  );
}

async function whenReady(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error('redis or the identity service keys not ready within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
