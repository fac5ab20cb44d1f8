/**
 * Full create-order against its floor, in the same run, on the same database. The service: POST
 * /api/v1/orders with 2 products through the service as deployed (compiled, bench/support/main-process.ts)
 * with ROLES=http (validation, idempotency fingerprint,
 * the user/address/product checks, the mediator and its behaviours, Prisma, the outbox writer and the NOTIFY
 * that wakes relays elsewhere). The floor: a bare Express endpoint in its own process that takes the same body
 * and does the same inserts with raw `pg` (bench/support/raw-order.ts) from a pg.Pool of the same size.
 * Both are driven by BENCH_CONNECTIONS keep-alive connections from this process, alternating in BENCH_ROUNDS
 * slices of BENCH_SECONDS / BENCH_ROUNDS each, so load from other work on the machine falls on both alike.
 * Also samples both processes' RSS and CPU time during their load. Prints figures; never passes or fails.
 * Targets: the service >= 0.5x the floor's orders/s; the service's RSS <= 250 MB.
 *
 * Settings by environment: BENCH_CONNECTIONS (32), BENCH_SECONDS (10 per side), BENCH_ROUNDS (2),
 * BENCH_WARMUP_SECONDS (3 per side), BENCH_POOL_SIZE (10, the service's DATABASE_POOL_SIZE default),
 * BENCH_CPU_PROF_DIR (profile the service process with node --cpu-prof into this directory),
 * BENCH_FLOOR_NODE_ARGS (node options for the floor process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/floor").
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { createBenchEnvironment, percentile, printLoad, printMachine, round } from './support/bench-env.js';
import { prepareOrderClient } from './support/http-client.js';
import { closedLoop, mergeLoads, type LoadResult } from './support/load.js';
import { serviceRuntimeLabel, spawnMain } from './support/main-process.js';
import { cpuSeconds, memoryBreakdown, mergeRss, sampleRss, type RssSummary } from './support/proc-stats.js';
import { floorOrdersApp } from './support/floor-orders-app.js';
import type { FloorProduct } from './support/raw-order.js';
import { serveToParent } from './support/serve-to-parent.js';
import { stopOnInterrupt } from './support/interrupt.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const POOL_SIZE = process.env.BENCH_POOL_SIZE ?? '10';

if (process.argv.includes('--floor')) await serveFloor();
else await measure();

interface Side {
  name: string;
  pid: number;
  send: () => Promise<number>;
  loads: LoadResult[];
  rss: RssSummary[];
  cpu: number;
}

async function measure(): Promise<void> {
  printMachine('create-order (POST /api/v1/orders, 2 products) vs a raw-pg floor', {
    connections: CONNECTIONS,
    seconds_per_side: SECONDS,
    rounds: `${ROUNDS} (floor and service alternate)`,
    warmup_seconds_per_side: WARMUP_SECONDS,
    pool_size: `${POOL_SIZE} (service DATABASE_POOL_SIZE = floor pg.Pool max)`,
    service: `${serviceRuntimeLabel()}, ROLES=http, LOG_LEVEL=warn`,
    floor: 'bare Express + express.json + pg.Pool: BEGIN; INSERT orders; INSERT 2 order_lines; INSERT 4 outbox; COMMIT',
    load_generator: 'node http.Agent keepAlive, in this process',
  });
  const env = await createBenchEnvironment();
  let floor: ChildProcess | undefined;
  const service = await spawnMain(env, { roles: 'http', env: { DATABASE_POOL_SIZE: POOL_SIZE } });
  try {
    const client = await prepareOrderClient(env, service.port);
    floor = fork(process.argv[1]!, ['--floor'], {
      execArgv: [...process.execArgv, ...(process.env.BENCH_FLOOR_NODE_ARGS ?? '').split(' ').filter(Boolean)],
      env: { ...process.env, BENCH_DATABASE_URL: env.databaseUrl, BENCH_PRODUCTS: JSON.stringify(client.fixture.products) },
    });
    stopOnInterrupt(floor);
    const [{ port: floorPort }] = (await once(floor, 'message')) as [{ port: number }];
    const sides: Side[] = [
      { name: 'floor', pid: floor.pid!, send: () => client.createOrderOn(floorPort), loads: [], rss: [], cpu: 0 },
      { name: 'service', pid: service.pid, send: () => client.createOrder(), loads: [], rss: [], cpu: 0 },
    ];
    for (const side of sides) await closedLoop(CONNECTIONS, WARMUP_SECONDS, side.send);
    const sql = await env.sql();
    await sql.query('ANALYZE');
    const measuredFrom = (performance.now() - service.spawnedAt) / 1000;
    for (let slice = 0; slice < ROUNDS; slice++) {
      for (const side of sides) {
        const cpuBefore = cpuSeconds(side.pid);
        const rss = sampleRss(side.pid);
        side.loads.push(await closedLoop(CONNECTIONS, SECONDS / ROUNDS, side.send));
        side.rss.push(rss.stop());
        side.cpu += cpuSeconds(side.pid) - cpuBefore;
      }
    }
    const memory = await memoryBreakdown(service.port);
    const measuredTo = (performance.now() - service.spawnedAt) / 1000;
    client.close();

    const [floorFigures, serviceFigures] = sides.map((side) => report(side));
    console.log(`ratio: ${round(serviceFigures!.rate / floorFigures!.rate, 2)}x the floor's orders/s (target >= 0.5x)`);
    console.log(`cpu ratio: the service spends ${round(serviceFigures!.cpuMs / floorFigures!.cpuMs, 1)}x the floor's server cpu per order`);
    for (const side of sides) {
      const rss = mergeRss(side.rss);
      const target = side.name === 'service' ? '; target <= 250 MB' : '';
      console.log(`rss ${side.name} under create-order load: max ${round(rss.maxMb)} MB, mean ${round(rss.meanMb)} MB (${rss.samples} samples every 100 ms${target})`);
    }
    console.log(`service memory at the end of the load (its /metrics): ${memory}`);
    const { rows } = await sql.query(`SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_lines) AS lines, (SELECT count(*) FROM outbox) AS outbox`);
    console.log(`rows written: ${rows[0].orders} orders, ${rows[0].lines} lines, ${rows[0].outbox} outbox rows (warm-up included)`);
    await sql.end();
    if (process.env.BENCH_CPU_PROF_DIR) {
      console.log(`profile window: service pid ${service.pid}, from ${round(measuredFrom, 1)} s to ${round(measuredTo, 1)} s after spawn (floor rounds in between are idle)`);
    }
    printLoad('load after');
  } finally {
    floor?.kill('SIGTERM');
    if (floor && floor.exitCode === null) await once(floor, 'exit').catch(() => undefined);
    await service.stop();
    await env.cleanup();
  }
}

function report(side: Side): { rate: number; cpuMs: number } {
  const load = mergeLoads(side.loads);
  const rate = load.completed / load.seconds;
  const cpuMs = (side.cpu * 1000) / load.completed;
  const label = side.name === 'floor' ? 'floor (Express + raw pg inserts)' : 'service (POST /api/v1/orders, role http)';
  console.log(
    `${label}: ${round(rate, 1)} orders/s, p50 ${round(percentile(load.latencies, 50), 2)} ms, p99 ${round(percentile(load.latencies, 99), 2)} ms, ` +
      `server cpu ${round(cpuMs, 3)} ms/order = ${Math.round((side.cpu / load.seconds) * 100)}% of one core (${load.completed} in ${round(load.seconds, 1)} s, ${load.failed} not 204)`,
  );
  return { rate, cpuMs };
}

/** Child: the floor endpoint. Takes the service's request body; trusts it (no validation, no lookups). */
async function serveFloor(): Promise<void> {
  const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: Number(POOL_SIZE) });
  const products = new Map((JSON.parse(process.env.BENCH_PRODUCTS!) as FloorProduct[]).map((product) => [product.id, product]));
  const app = floorOrdersApp(pool, products);
  await serveToParent(app, () => pool.end());
}
