/**
 * The saga round trip at a steady rate: POST /api/v1/orders -> outbox -> relay -> OrderSaga -> the customer
 * service simulator (approve-all) -> CustomerSaga -> approval transaction -> held events released -> relay ->
 * Orders -> projector -> the order listed in the user's Redis projection. The service runs as deployed, all
 * roles in one process (bench/support/main-process.ts); the simulator is src/tools/customer-sim.ts in a
 * process of its own. Orders leave on schedule (open loop), each for a user of its own (seeded by SQL).
 *
 * What is timed, per order: from just before the POST is sent until a poll of the projection in Redis sees the
 * order listed (bench/support/projection-watch.ts: `vis` on the order's projection hash, set by the same
 * atomic script that adds it to the user's list; polled every 1 ms for all pending orders). That is the
 * projector applying it, not an HTTP read: after the run every order is also checked with one GET
 * /api/v1/orders/user/:userID (outside the timed window, so the check adds no load to it). A tap queue on the
 * Orders exchange (bench/support/event-tap.ts) splits the time into hops.
 *
 * The floor, in the same run, alternating with the service in BENCH_ROUNDS slices: the same hops done by bare
 * code in one process (bench/support/saga-floor.ts, on a database and vhost of its own) with the same
 * simulator: a bare Express POST that does the create inserts with raw pg, publishes the saga request right
 * after commit (no outbox relay); a bare CustomerSaga consumer that approves in one pg transaction (inbox row,
 * order status, held outbox rows -> Ready) and publishes the released events right after commit; a bare
 * Orders consumer that marks the order visible in Redis on OrderCreated. Same broker hops, same persistence,
 * none of the mediator, Prisma, relay claim/confirm/mark-published round trips or projection scripts; its AMQP
 * socket has Nagle's algorithm off (noDelay), the service's does not. The simulator is the shipped one for both.
 * Prints figures; never passes or fails. Target: the service's p95 <= 50 ms; its RSS <= 250 MB.
 *
 * Settings by environment: BENCH_RATE (100 orders/s), BENCH_SECONDS (20 per side), BENCH_ROUNDS (2),
 * BENCH_WARMUP_SECONDS (3 per side), BENCH_REDIS_URL (redis://127.0.0.1:6379), BENCH_CPU_PROF_DIR, BENCH_SAGA_SPLIT
 * (1: the roles in three processes, http | relay | consumers,scheduler, instead of one with all roles).
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_REDIS_URL, createBenchEnvironment, percentile, printLoad, printMachine, round, type BenchEnvironment } from './support/bench-env.js';
import { EventTap } from './support/event-tap.js';
import { postJson } from './support/http-client.js';
import { authHeaders } from './support/bench-auth.js';
import { openLoop } from './support/load.js';
import { serviceRuntimeLabel, spawnMain } from './support/main-process.js';
import { cpuSeconds, memoryBreakdown, mergeRss, sampleRss, type RssSummary } from './support/proc-stats.js';
import { ProjectionWatch } from './support/projection-watch.js';
import { seed, spawnSimulator, stopper, type Fixture } from './support/saga-setup.js';
import { stopOnInterrupt } from './support/interrupt.js';

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ORDER_TIMEOUT_MS = 30_000;
/** What-if: the roles in three processes (http | relay | consumers,scheduler), so they can use both cores. */
const SPLIT = process.env.BENCH_SAGA_SPLIT === '1';

await measure();

interface Target {
  name: 'service' | 'floor';
  env: BenchEnvironment;
  tap: EventTap;
  fixture: Fixture;
  port: number;
  /** The server processes: the service's (one, or three when split) or the floor's. */
  pids: number[];
  simulatorPid: number;
  nextUser: number;
  samples: Sample[];
  /** Per slice, per server process. */
  rss: RssSummary[][];
  cpu: { server: number; simulator: number; seconds: number };
  /** The service's /metrics memory figures right after its last slice. */
  memory?: string;
}

interface Sample {
  orderId: string;
  userId: string;
  status: number;
  sentAt: number;
  postMs: number;
  visibleMs: number;
}

async function measure(): Promise<void> {
  printMachine('saga round trip (POST -> simulator approves -> order listed in the Redis projection)', {
    rate_per_second: RATE,
    seconds_per_side: SECONDS,
    rounds: `${ROUNDS} (service and floor alternate)`,
    warmup_seconds_per_side: WARMUP_SECONDS,
    products_per_order: 2,
    service: `${serviceRuntimeLabel()}, ${SPLIT ? 'three processes: ROLES=http | relay | consumers,scheduler' : 'ROLES=all'}, LOG_LEVEL=warn, default pool and batch sizes`,
    simulator: 'customer-sim --rule approve-all, its own process (one per side)',
    timed: 'POST sent -> projection hash shows the order listed (Redis poll every 1 ms)',
    floor: 'bare Express + raw pg + direct publish + bare consumers, one process, AMQP socket with noDelay, same simulator',
  });
  const orders = Math.ceil(RATE * (SECONDS + WARMUP_SECONDS)) + 100; // one user per order
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const children: { stop(): Promise<void> }[] = [];
  const envs: BenchEnvironment[] = [];
  try {
    const serviceEnv = await createBenchEnvironment();
    envs.push(serviceEnv);
    const floorEnv = await createBenchEnvironment();
    envs.push(floorEnv);
    const [serviceFixture, floorFixture] = [await seed(serviceEnv, orders), await seed(floorEnv, orders)];

    const services = [];
    for (const roles of SPLIT ? ['http', 'relay', 'consumers,scheduler'] : ['all']) {
      services.push(await spawnMain(serviceEnv, { roles }));
      children.push(services.at(-1)!);
    }
    const service = services[0]!;
    const floor = fork('bench/support/saga-floor.ts', [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_DATABASE_URL: floorEnv.databaseUrl, BENCH_AMQP_URL: floorEnv.amqpUrl, BENCH_PREFIX: floorEnv.redisPrefix, BENCH_PRODUCTS: JSON.stringify(floorFixture.products) },
    });
    stopOnInterrupt(floor);
    children.push(stopper(floor));
    const [{ port: floorPort }] = (await once(floor, 'message')) as [{ port: number }];
    const serviceSim = await spawnSimulator(serviceEnv);
    children.push(stopper(serviceSim));
    const floorSim = await spawnSimulator(floorEnv);
    children.push(stopper(floorSim));

    const target = async (name: Target['name'], env: BenchEnvironment, fixture: Fixture, port: number, pids: number[], simulatorPid: number): Promise<Target> => {
      const tap = await EventTap.start(env.amqpUrl);
      children.push({ stop: () => tap.close() });
      return { name, env, tap, fixture, port, pids, simulatorPid, nextUser: 0, samples: [], rss: [], cpu: { server: 0, simulator: 0, seconds: 0 } };
    };
    const targets = [
      await target('service', serviceEnv, serviceFixture, service.port, services.map((s) => s.pid), serviceSim.pid!),
      await target('floor', floorEnv, floorFixture, floorPort, [floor.pid!], floorSim.pid!),
    ];

    for (const each of targets) await run(each, agent, WARMUP_SECONDS, false);
    const measuredFrom = (performance.now() - service.spawnedAt) / 1000;
    for (let slice = 0; slice < ROUNDS; slice++) {
      for (const each of targets) await run(each, agent, SECONDS / ROUNDS, true);
    }
    const measuredTo = (performance.now() - service.spawnedAt) / 1000;

    const figures = targets.map(report);
    console.log(`ratio: the service's p95 is ${round(figures[0]!.p95 / figures[1]!.p95, 2)}x the floor's, its p50 ${round(figures[0]!.p50 / figures[1]!.p50, 2)}x`);
    for (const { name, rss: slices, pids } of targets) {
      // Each process on its own (the target is per process); the largest is the one reported.
      const perProcess = pids.map((_, i) => mergeRss(slices.map((slice) => slice[i]!)));
      const rss = perProcess.reduce((a, b) => (b.maxMb > a.maxMb ? b : a));
      const goal = name === 'service' ? '; target <= 250 MB' : '';
      const which = pids.length > 1 ? `, the largest of ${pids.length} processes (maxima ${perProcess.map((p) => round(p.maxMb)).join(', ')} MB)` : '';
      console.log(`rss ${name} under saga load: max ${round(rss.maxMb)} MB, mean ${round(rss.meanMb)} MB (${rss.samples} samples every 100 ms${which}${goal})`);
    }
    console.log(`service memory right after its last slice (its /metrics): ${targets[0]!.memory}`);
    await verify(targets[0]!, agent);
    if (process.env.BENCH_CPU_PROF_DIR) {
      console.log(`profile window: service pid ${service.pid}, from ${round(measuredFrom, 1)} s to ${round(measuredTo, 1)} s after spawn (floor slices in between are idle)`);
    }
    printLoad('load after');
  } finally {
    agent.destroy();
    for (const child of children.reverse()) await child.stop();
    for (const env of envs) await env.cleanup();
  }
}

/** One slice at RATE for `seconds` against a target; when `record`, keeps the samples, RSS and CPU time. */
async function run(target: Target, agent: http.Agent, seconds: number, record: boolean): Promise<void> {
  const watch = new ProjectionWatch(BENCH_REDIS_URL, target.env.redisPrefix);
  const serverCpu = () => target.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuBefore = [serverCpu(), cpuSeconds(target.simulatorPid)];
  const rss = target.pids.map((pid) => sampleRss(pid));
  const { results, seconds: took } = await openLoop(RATE, seconds, (_, sentAt) => oneOrder(target, agent, watch, sentAt));
  const rssSummary = rss.map((sampler) => sampler.stop());
  watch.close();
  if (!record) return;
  target.samples.push(...results);
  target.rss.push(rssSummary);
  target.cpu.server += serverCpu() - cpuBefore[0]!;
  target.cpu.simulator += cpuSeconds(target.simulatorPid) - cpuBefore[1]!;
  target.cpu.seconds += took;
  if (target.name === 'service') target.memory = await memoryBreakdown(target.port);
}

async function oneOrder(target: Target, agent: http.Agent, watch: ProjectionWatch, sentAt: number): Promise<Sample> {
  const { fixture } = target;
  const orderId = randomUUID();
  const userId = fixture.users[target.nextUser++ % fixture.users.length]!;
  const visible = watch.visible(userId, orderId);
  const body = { orderID: orderId, paymentMethod: 'Card', productsIDs: fixture.products.map((p) => p.id), userID: userId, deliveryAddress: fixture.addressId };
  const status = await postJson(agent, target.port, '/api/v1/orders', body, orderId);
  const postMs = performance.now() - sentAt;
  const visibleAt = status === 204 ? await Promise.race([visible, sleep(ORDER_TIMEOUT_MS, Number.NaN)]) : Number.NaN;
  return { orderId, userId, status, sentAt, postMs, visibleMs: visibleAt - sentAt };
}

function report(target: Target): { p50: number; p95: number } {
  const visible = target.samples.filter((s) => Number.isFinite(s.visibleMs)).map((s) => s.visibleMs).sort((a, b) => a - b);
  const posts = target.samples.filter((s) => s.status === 204).map((s) => s.postMs).sort((a, b) => a - b);
  const failed = target.samples.filter((s) => s.status !== 204).length;
  const label = target.name === 'service' ? 'service' : 'floor (bare chain)';
  const p50 = percentile(visible, 50);
  const p95 = percentile(visible, 95);
  const goal = target.name === 'service' ? '; target p95 <= 50 ms' : '';
  console.log(
    `${label}: POST -> listed in projection p50 ${round(p50, 2)} ms, p95 ${round(p95, 2)} ms, p99 ${round(percentile(visible, 99), 2)} ms, ` +
      `max ${round(visible.at(-1) ?? NaN, 2)} ms (${visible.length} of ${target.samples.length} listed within ${ORDER_TIMEOUT_MS / 1000} s, ${failed} not 204${goal})`,
  );
  console.log(`${label}: POST answered p50 ${round(percentile(posts, 50), 2)} ms, p95 ${round(percentile(posts, 95), 2)} ms, p99 ${round(percentile(posts, 99), 2)} ms`);
  console.log(`${label}: ${hops(target)}`);
  const pct = (cpu: number) => Math.round((cpu / target.cpu.seconds) * 100);
  console.log(`${label}: cpu while loaded: server process${target.pids.length > 1 ? `es (${target.pids.length}) together` : ''} ${pct(target.cpu.server)}% of one core, simulator ${pct(target.cpu.simulator)}%`);
  return { p50, p95 };
}

/**
 * The round trip split at the moments a copy of each event reached the tap (bench/support/event-tap.ts): the
 * saga request routed (commit, relay), the first released event routed (simulator, reply, approval, relay),
 * OrderCreated routed (the rest of the released events), then listed (projector). p50 / p95 of each hop.
 */
function hops(target: Target): string {
  const listed = target.samples.filter((s) => Number.isFinite(s.visibleMs));
  const gaps: Record<string, number[]> = { 'POST -> saga request routed': [], '-> first released event routed': [], '-> OrderCreated routed': [], '-> listed': [] };
  for (const s of listed) {
    const saga = target.tap.at(s.orderId, 'OrderCreateSaga');
    const first = target.tap.at(s.orderId, 'OrderAddProduct');
    const created = target.tap.at(s.orderId, 'OrderCreated');
    if (saga === undefined || first === undefined || created === undefined) continue;
    const points = [s.sentAt, saga, first, created, s.sentAt + s.visibleMs];
    Object.values(gaps).forEach((values, i) => values.push(points[i + 1]! - points[i]!));
  }
  const parts = Object.entries(gaps).map(([name, values]) => {
    values.sort((a, b) => a - b);
    return `${name} ${round(percentile(values, 50), 1)} / ${round(percentile(values, 95), 1)}`;
  });
  return `hops, p50 / p95 ms (${gaps['-> listed']!.length} orders, tap receipt times): ${parts.join(', ')}`;
}

/** After the timed window: every order the service acknowledged is in GET /api/v1/orders/user/:userID. */
async function verify(target: Target, agent: http.Agent): Promise<void> {
  const acknowledged = target.samples.filter((s) => s.status === 204);
  let listed = 0;
  for (let start = 0; start < acknowledged.length; start += 16) {
    const batch = acknowledged.slice(start, start + 16);
    const found = await Promise.all(batch.map((s) => getText(agent, target.port, `/api/v1/orders/user/${s.userId}`).then((text) => text.includes(s.orderId), () => false)));
    listed += found.filter(Boolean).length;
  }
  console.log(`verified: ${listed} of ${acknowledged.length} acknowledged orders listed by GET /api/v1/orders/user/:userID after the run`);
}

function getText(agent: http.Agent, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent, headers: authHeaders(), timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`GET ${path} answered ${res.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}
