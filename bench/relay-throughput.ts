/**
 * Relay throughput: rows/s draining a backlog of ready rows with publisher confirms.
 * Seeds ROWS ready rows (EVENTS_PER_ORDER per order, so only each order's head is claimable at a time, as in
 * production) in a fresh database, ANALYZEs, then times the relay role from start until every row is marked
 * published. Prints figures; never passes or fails. Target on the 2-core machine kind: >= 8,700 rows/s.
 *
 * Then, in the same run and on the same database, the same backlog seeded again and drained by a bare
 * claim-publish-mark loop (bench/support/bare-relay.ts: raw pg and amqplib, two cycles in flight, a claim of
 * OUTBOX_BATCH_SIZE x BENCH_EVENTS_PER_ORDER rows, the rows the service's claim of as many orders takes).
 * Target (issue 17): the service's relay >= 0.85x the bare loop. BENCH_BARE=0 skips the bare loop.
 *
 * Settings by environment: BENCH_ROWS (50000), BENCH_EVENTS_PER_ORDER (5), BENCH_RELAYS (1; more relay
 * instances in this process, as if scaled out), OUTBOX_BATCH_SIZE (500). Under node --cpu-prof it also
 * prints the drain's window of the profile.
 */
import amqp from 'amqplib';
import pg from 'pg';
import { composeService } from '../src/composition/service.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { startRelayRole } from '../src/composition/relay-role.js';
import { declareTopology } from '../src/platform/messaging/topology.js';
import { createBenchEnvironment, printLoad, printMachine, round } from './support/bench-env.js';
import { bareRelay } from './support/bare-relay.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const EVENTS_PER_ORDER = Number(process.env.BENCH_EVENTS_PER_ORDER ?? 5);
const RELAYS = Number(process.env.BENCH_RELAYS ?? 1);
const BATCH = process.env.OUTBOX_BATCH_SIZE ?? '500';

const env = await createBenchEnvironment();
try {
  printMachine('relay throughput (drain a backlog with confirms)', {
    rows: ROWS,
    events_per_order: EVENTS_PER_ORDER,
    orders: Math.ceil(ROWS / EVENTS_PER_ORDER),
    relays: RELAYS,
    batch_size: BATCH,
    queues: 'quorum (the QUEUE_TYPE default), persistent messages, no consumers',
  });
  await seed();
  const services = Array.from({ length: RELAYS }, () =>
    composeService(env.config({ OUTBOX_BATCH_SIZE: BATCH }), { logger: createLogger({ level: 'warn' }), defaultMetrics: false }),
  );
  for (const service of services) {
    await service.rabbit.start();
    await service.rabbit.waitForConnection(10_000);
  }
  // The relays' own counters (incremented after each batch commits): polling them costs the database nothing.
  const counted = async () => (await Promise.all(services.map(async (s) => (await s.metrics.outboxPublished.get()).values[0]?.value ?? 0))).reduce((a, b) => a + b, 0);

  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const relays = await Promise.all(services.map((service) => startRelayRole(service)));
  while ((await counted()) < ROWS) await new Promise((resolve) => setTimeout(resolve, 10));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const relay of relays) await relay.stop();

  const sql = await env.sql();
  const { rows } = await sql.query(`SELECT count(*) FILTER (WHERE status = 'Published') AS published, count(*) AS total FROM outbox`);
  await sql.end();
  console.log(`drained: ${rows[0].published} of ${rows[0].total} rows marked published in ${round(seconds, 2)} s`);
  console.log(`relay process cpu: ${round((cpu.user + cpu.system) / 1e6, 2)} s (${Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100)}% of one core)`);
  const serviceRate = ROWS / seconds;
  console.log(`relay throughput: ${Math.round(serviceRate)} rows/s (target >= 8700)`);
  // Under node --cpu-prof (bench/run-all.ts profiles a missed target): the drain's part of the profile.
  if (process.execArgv.includes('--cpu-prof')) {
    console.log(`profile window: relay pid ${process.pid}, from ${round(started / 1000, 1)} s to ${round((started + seconds * 1000) / 1000, 1)} s after start`);
  }
  for (const service of services) await service.close();
  if (process.env.BENCH_BARE !== '0') {
    const bareRate = await drainBare();
    console.log(`bare relay throughput: ${Math.round(bareRate)} rows/s (raw pg + amqplib claim-publish-mark loop, same run)`);
    console.log(`relay vs bare loop: ${round(serviceRate / bareRate, 2)}x (target >= 0.85x): ${serviceRate / bareRate >= 0.85 ? 'PASS' : 'MISS'}`);
  }
  printLoad('load after');
} finally {
  await env.cleanup();
}

/** Seeds the same backlog again and drains it with the bare loop; rows/s. */
async function drainBare(): Promise<number> {
  const sql = await env.sql();
  await sql.query('TRUNCATE outbox');
  await sql.end();
  await seed();
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  const connection = await amqp.connect(env.amqpUrl, { noDelay: true });
  await declareTopology(connection, 10_000, 'quorum');
  const relay = bareRelay(pool, await connection.createConfirmChannel(), Number(BATCH) * EVENTS_PER_ORDER);
  const started = performance.now();
  relay.wake();
  while (relay.published < ROWS) await new Promise((resolve) => setTimeout(resolve, 10));
  const seconds = (performance.now() - started) / 1000;
  await relay.stop();
  await connection.close();
  await pool.end();
  return ROWS / seconds;
}

/** Bodies shaped like OrderAddProduct (the most common event), ~330 bytes each; then ANALYZE. */
async function seed(): Promise<void> {
  const sql = await env.sql();
  const started = performance.now();
  await sql.query(
    `WITH orders AS (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $1::int) AS n),
          events AS (SELECT gen_random_uuid() AS event_id, o.id AS order_id, o.n, s.seq
                     FROM orders o CROSS JOIN generate_series(1, $2::int) AS s(seq))
     INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, correlation_id, status, ready_at)
     SELECT event_id, order_id, seq, 'Orders', 'Order.AddProduct', 'OrderAddProduct',
            jsonb_build_object('eventID', event_id, 'eventType', 'OrderAddProduct', 'eventTimeStamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                               'orderID', order_id, 'clientID', gen_random_uuid(), 'productID', gen_random_uuid(),
                               'productName', 'Product ' || n, 'productPrice', 90, 'orderPrice', 90 * seq),
            'bench-' || n, 'Ready', now()
     FROM events ORDER BY n, seq`,
    [Math.ceil(ROWS / EVENTS_PER_ORDER), EVENTS_PER_ORDER],
  );
  await sql.query(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id DESC LIMIT (SELECT greatest(count(*) - $1, 0) FROM outbox))`, [ROWS]);
  await sql.query('ANALYZE outbox');
  const { rows } = await sql.query(`SELECT count(*) AS n, avg(octet_length(payload::text))::int AS bytes FROM outbox`);
  console.log(`seeded: ${rows[0].n} ready rows, ${rows[0].bytes} bytes of JSON each on average, in ${round((performance.now() - started) / 1000, 1)} s, then ANALYZE`);
  await sql.end();
}
