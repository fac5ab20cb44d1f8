/**
 * What opening a transaction with its first statement saves (src/platform/database/framed-query.ts), against
 * opening it on its own first as the service did before: on one connection, BENCH_TRANSACTIONS transactions of
 * opening + one prepared statement + COMMIT, each way in alternating rounds, with BEGIN alone and with the relay's
 * four SET LOCALs. Per transaction: wall time, the server backend's CPU (from /proc) and this process's CPU.
 * Prints figures; never fails. Settings by environment: BENCH_POSTGRES_URL (the server; its postgres database is
 * used, nothing is written), BENCH_TRANSACTIONS (5,000), BENCH_ROUNDS (2).
 */
import pg from 'pg';
import { printLoad, printMachine, round } from './support/bench-env.js';
import { cpuSeconds } from './support/proc-stats.js';
import { setLocal } from '../src/platform/database/database.js';
import { FramedQuery } from '../src/platform/database/framed-query.js';
import { RELAY_PLANNER_SETTINGS } from '../src/outbox/persistence/relay-cycle.js';

const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const STATEMENT = { name: 'bench-opening-probe', text: 'SELECT $1::int + 1 AS n', values: [1] };
/** The relay's transaction opening (what Database sends for it), as statements. */
const RELAY_OPENING = ['BEGIN', ...setLocal(RELAY_PLANNER_SETTINGS)];

type Way = 'opening on its own' | 'opening with the statement';

printMachine('transaction opening (BEGIN with the first statement, under one Sync)', {
  transactions: `${TRANSACTIONS} per round and way, ${ROUNDS} rounds, one connection, after 500 to warm up`,
  statement: `${STATEMENT.text} (prepared), then COMMIT`,
  ways: "'opening on its own': the opening as one simple query, then the statement (two round trips); 'opening with the statement': FramedQuery (one)",
});
for (const opening of [['BEGIN'], RELAY_OPENING]) {
  console.log(`\n## opening: ${opening.join('; ')}`);
  const results = new Map<Way, Figures[]>();
  for (let roundNo = 0; roundNo < ROUNDS; roundNo++) {
    for (const way of ['opening on its own', 'opening with the statement'] as const) {
      const figures = await measure(way, opening);
      results.set(way, [...(results.get(way) ?? []), figures]);
      console.log(`${way}, round ${roundNo + 1}: ${describe(figures)}`);
    }
  }
  const mean = (way: Way) => average(results.get(way)!);
  const [before, after] = [mean('opening on its own'), mean('opening with the statement')];
  console.log(`mean: wall ${round(before.wallUs, 0)} -> ${round(after.wallUs, 0)} us per transaction (${round(after.wallUs / before.wallUs, 2)}x), backend CPU ${round(before.backendUs, 0)} -> ${round(after.backendUs, 0)} us, client CPU ${round(before.clientUs, 0)} -> ${round(after.clientUs, 0)} us`);
}
printLoad('load after');

interface Figures {
  wallUs: number;
  backendUs: number;
  clientUs: number;
}

async function measure(way: Way, opening: string[]): Promise<Figures> {
  const client = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0]!.pid;
    const one = way === 'opening on its own' ? () => openingOnItsOwn(client, opening) : () => openingWithStatement(client, opening);
    for (let i = 0; i < 500; i++) await one();
    const [backendBefore, started, cpuBefore] = [cpuSeconds(backend), performance.now(), process.cpuUsage()];
    for (let i = 0; i < TRANSACTIONS; i++) await one();
    const cpu = process.cpuUsage(cpuBefore);
    return {
      wallUs: ((performance.now() - started) * 1000) / TRANSACTIONS,
      backendUs: ((cpuSeconds(backend) - backendBefore) * 1e6) / TRANSACTIONS,
      clientUs: (cpu.user + cpu.system) / TRANSACTIONS,
    };
  } finally {
    await client.end();
  }
}

async function openingOnItsOwn(client: pg.Client, opening: string[]): Promise<void> {
  await client.query(opening.join('; '));
  await client.query(STATEMENT);
  await client.query('COMMIT');
}

async function openingWithStatement(client: pg.Client, opening: string[]): Promise<void> {
  await new Promise((resolve, reject) => client.query(new FramedQuery({ opening }, STATEMENT, (error, result) => (error ? reject(error) : resolve(result)))));
  await client.query('COMMIT');
}

function average(all: Figures[]): Figures {
  const sum = (pick: (figures: Figures) => number) => all.reduce((total, figures) => total + pick(figures), 0) / all.length;
  return { wallUs: sum((f) => f.wallUs), backendUs: sum((f) => f.backendUs), clientUs: sum((f) => f.clientUs) };
}

function describe(figures: Figures): string {
  return `wall ${round(figures.wallUs, 0)} us, backend CPU ${round(figures.backendUs, 0)} us, client CPU ${round(figures.clientUs, 0)} us per transaction`;
}
