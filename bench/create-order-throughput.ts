/**
 * Create-order throughput with the relay running, for each wake-up design and deployment, so the cost of
 * waking relays is visible. POST /api/v1/orders (2 products) from CONNECTIONS concurrent keep-alive
 * connections for SECONDS, after a warm-up, against service processes (bench/support/service-process.ts).
 * Each case gets a fresh database, seeded and ANALYZEd. Prints figures; never passes or fails.
 * Deployments: one-process (http+relay, the default) and split (an http process, a relay process).
 * Designs:
 *   - after-commit:    the service as shipped: a coalesced NOTIFY after commit on the notifier's own
 *                      connection, skipped when a relay runs in the same process (woken in-process)
 *   - always-notify:   the same NOTIFY sent even though the relay is in the process (what skipping saves)
 *   - in-transaction:  NOTIFY inside every create-order transaction (a trigger on outbox), notifier off
 *   - none:            no NOTIFY at all: the ceiling (in split, the relay would wait for its 1 s sweep)
 *
 * Settings by environment: BENCH_CASES (all: one-process:after-commit, one-process:always-notify, ...),
 * BENCH_CONNECTIONS (32), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (1; cases alternate).
 */
import { createBenchEnvironment, percentile, printLoad, printMachine, round, type BenchEnvironment } from './support/bench-env.js';
import { prepareOrderClient, type OrderClient } from './support/http-client.js';
import { spawnService, type ServiceProcess } from './support/spawn-service.js';

const ALL_CASES = [
  'one-process:after-commit',
  'one-process:always-notify',
  'one-process:in-transaction',
  'one-process:none',
  'split:after-commit',
  'split:in-transaction',
  'split:none',
];
const CASES = process.env.BENCH_CASES ? process.env.BENCH_CASES.split(',') : ALL_CASES;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

printMachine('create-order throughput with the relay running, by wake-up design', {
  cases: CASES.join(' '),
  rounds: ROUNDS,
  connections: CONNECTIONS,
  seconds: SECONDS,
  warmup_seconds: WARMUP_SECONDS,
  products_per_order: 2,
  DATABASE_POOL_SIZE: 20,
});
const results = new Map<string, number[]>();
for (let roundNo = 1; roundNo <= ROUNDS; roundNo++) {
  for (const name of CASES) results.set(name, [...(results.get(name) ?? []), await measure(name)]);
}
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
for (const [name, rates] of results) {
  const ceiling = results.get(`${name.split(':')[0]}:none`);
  const delta = ceiling && !name.endsWith(':none') ? round(100 * (mean(rates) / mean(ceiling) - 1), 1) : undefined;
  const cost = delta === undefined ? '' : `, ${delta > 0 ? '+' : ''}${delta}% against ${name.split(':')[0]}:none`;
  console.log(`${name}: mean ${round(mean(rates), 1)} orders/s over ${rates.length} round(s)${cost}`);
}
printLoad('load after');

async function measure(name: string): Promise<number> {
  const [deployment, design] = name.split(':');
  const env = await createBenchEnvironment();
  const processes: ServiceProcess[] = [];
  try {
    if (design === 'in-transaction') await installNotifyTrigger(env);
    const notify: Record<string, string> = design === 'always-notify' ? { BENCH_NOTIFY: 'always' } : design === 'after-commit' ? {} : { BENCH_NOTIFY: 'off' };
    const http = await spawnService(env, deployment === 'split' ? 'http' : 'http,relay', { DATABASE_POOL_SIZE: '20', ...notify });
    processes.push(http);
    if (deployment === 'split') processes.push(await spawnService(env, 'relay'));
    const client = await prepareOrderClient(env, http.port!);
    await drive(client, WARMUP_SECONDS);
    http.resetCpu();
    const { completed, failed, latencies, seconds } = await drive(client, SECONDS);
    const cpu = await http.cpuSeconds();
    client.close();
    latencies.sort((a, b) => a - b);
    const rate = completed / seconds;
    console.log(
      `${name}: ${round(rate, 1)} orders/s (${completed} in ${round(seconds, 2)} s, ${failed} not 204), ` +
        `latency p50 ${round(percentile(latencies, 50), 1)} ms, p99 ${round(percentile(latencies, 99), 1)} ms, ` +
        `http process cpu ${Math.round((cpu / seconds) * 100)}% of one core`,
    );
    return rate;
  } finally {
    for (const service of processes.reverse()) await service.stop();
    await env.cleanup();
  }
}

/** CONNECTIONS closed-loop clients for `seconds`: each sends its next order when the previous one is answered. */
async function drive(client: OrderClient, seconds: number) {
  const latencies: number[] = [];
  let completed = 0;
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const connection = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const status = await client.createOrder();
      latencies.push(performance.now() - sent);
      if (status === 204) completed++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  return { completed, failed, latencies, seconds: (performance.now() - started) / 1000 };
}

/** The classic design measured against ours: every transaction that writes a ready row NOTIFYs before commit. */
async function installNotifyTrigger(env: BenchEnvironment): Promise<void> {
  const sql = await env.sql();
  await sql.query(`
    CREATE FUNCTION bench_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('outbox_ready', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_outbox_notify AFTER INSERT OR UPDATE OF status ON outbox
      FOR EACH ROW WHEN (NEW.status = 'Ready') EXECUTE FUNCTION bench_outbox_notify();`);
  await sql.end();
}
