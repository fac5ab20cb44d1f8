import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg, createTestDatabase } from '../support/database.js';
import { claimRows, markPublished, RELAY_PLANNER_SETTINGS } from '../../src/outbox/persistence/relay-cycle.js';
import { Database, type LocalSettings } from '../../src/platform/database/database.js';
import { sql } from '../../src/platform/database/sql.js';
import { insertOutboxRows } from './outbox-rows.js';
import { eventually } from '../support/polling.js';

/** What EXPLAIN (FORMAT JSON) says of one plan node, as far as these tests read it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/** A migrated database of its own: a plain client to set it up, the service's Database on it, and the way to drop it. */
async function openTestDatabase(poolSize: number): Promise<{ client: pg.Client; database: Database; close(): Promise<void> }> {
  const test = await createTestDatabase();
  const client = await connectPg(test.url);
  const database = new Database({ url: test.url, poolSize, timeoutMs: 2_000 });
  return {
    client,
    database,
    async close() {
      await database.close();
      await client.end();
      await test.drop();
    },
  };
}

let client: pg.Client;
let database: Database;
let closeDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ client, database, close: closeDatabase } = await openTestDatabase(2));
  // A relay's outbox before autovacuum first analyzed it (a new deployment, every bench run): rows published since
  // (each left an entry in outbox_ready_idx that no longer matches), one Ready, no statistics. Autovacuum is off
  // for this table so that it cannot analyze it in the middle of the test.
  await client.query('ALTER TABLE outbox SET (autovacuum_enabled = false)');
  await insertOutboxRows(
    client,
    Array.from({ length: 3_000 }, () => ({ orderId: randomUUID(), sequence: 1 })),
  );
  await client.query(`UPDATE outbox SET status = 'Published', published_at = now()`);
  await insertOutboxRows(client, [{ orderId: randomUUID(), sequence: 1 }]);
});
afterAll(async () => {
  await closeDatabase?.();
});

/** The claim's plan, run (ANALYZE) in a transaction with these settings, as the relay runs it. */
async function claimPlan(localSettings?: LocalSettings): Promise<PlanNode> {
  const [row] = await database.run(
    'transaction',
    (unit) => unit.read(sql<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${claimRows(500)}`),
    localSettings ? { localSettings } : {},
  );
  return row!['QUERY PLAN'][0].Plan;
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** How the claim reads outbox_ready_idx: the node types that name it. */
function readyIndexReads(plan: PlanNode): string[] {
  return nodesOf(plan)
    .filter((node) => node['Index Name'] === 'outbox_ready_idx')
    .map((node) => node['Node Type']);
}

describe("the relay's claim plan", () => {
  it('when one row is Ready, many were published since the last vacuum and the table has no statistics yet, then the claim reads outbox_ready_idx by index scan, and a later claim skips the entries the first found dead', async () => {
    // The trap the relay's settings avoid: left to itself, PostgreSQL plans this state as a bitmap scan, which
    // never marks an index entry dead. (Checked first, so that this test says so if a PostgreSQL version no longer does.)
    // The plans here are custom ones (the claim inlined into EXPLAIN is not sent by name), as behind a transaction pooler.
    expect(readyIndexReads(await claimPlan())).toEqual(['Bitmap Index Scan']);

    const first = await claimPlan(RELAY_PLANNER_SETTINGS);
    expect(readyIndexReads(first)).toEqual(['Index Scan']);
    // The first scan visits the 3,000 published rows' heap tuples (> 50 blocks) and marks their entries dead, so a
    // later claim does not. PostgreSQL marks an entry only once no snapshot on the server, in any database, may still
    // see its row: a transaction of another test file that began before the UPDATE committed defers that to a later
    // claim, hence "a later claim" (a bitmap scan would never mark them, and no claim would read less).
    const blocks = (plan: PlanNode) => (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
    expect(blocks(first)).toBeGreaterThan(50);
    const later = await eventually(
      'a claim that skips the entries an earlier one marked dead',
      async () => {
        const plan = await claimPlan(RELAY_PLANNER_SETTINGS);
        expect(readyIndexReads(plan)).toEqual(['Index Scan']);
        return blocks(plan) < blocks(first) / 5 && plan;
      },
      30_000,
    );
    expect(blocks(later)).toBeLessThan(blocks(first) / 5);
  });
});

describe("the relay's prepared statements", () => {
  let freshClient: pg.Client;
  /** One connection, so that every statement below runs where the relay's were prepared. */
  let relayDatabase: Database;
  let closeFresh: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ client: freshClient, database: relayDatabase, close: closeFresh } = await openTestDatabase(1));
  });
  afterAll(async () => {
    await closeFresh?.();
  });

  /** A statement in a transaction with the relay's settings, as the relay runs its claim and mark. */
  function asRelay<Row>(statement: ReturnType<typeof sql<Row>>): Promise<Row[]> {
    return relayDatabase.run('transaction', (unit) => unit.read(statement), { localSettings: RELAY_PLANNER_SETTINGS });
  }

  it('when they were first planned on an empty outbox and it has since filled up, then they still read it by order: no scan of the whole table, outbox_ready_idx only for the heads', async () => {
    // Planned once, on the empty table of a new deployment: a generic plan keeps what it chose then.
    await asRelay(claimRows(500));
    await asRelay(markPublished([], []));
    const orders = Array.from({ length: 1_500 }, () => randomUUID());
    await insertOutboxRows(freshClient, orders.flatMap((orderId) => [1, 2, 3].map((sequence) => ({ orderId, sequence }))));
    await freshClient.query(`UPDATE outbox SET status = 'Published', published_at = now() WHERE sequence < 3`);
    await insertOutboxRows(freshClient, [{ orderId: orders[0]!, sequence: 4, status: 'Sagas' }]);

    const [claim] = await asRelay(sql<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>`EXPLAIN (FORMAT JSON) EXECUTE "relay-claim-500"('{}', '{}')`);
    const [mark] = await asRelay(sql<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>`EXPLAIN (FORMAT JSON) EXECUTE "relay-mark"('{1}', '{}', '{}')`);
    const claimNodes = nodesOf(claim!['QUERY PLAN'][0].Plan);
    const markNodes = nodesOf(mark!['QUERY PLAN'][0].Plan);

    expect(claimNodes.filter((node) => /Seq Scan|Bitmap/.test(node['Node Type']))).toEqual([]);
    expect(markNodes.filter((node) => /Seq Scan|Bitmap/.test(node['Node Type']))).toEqual([]);
    // Heads once, oldest first; every other read of the claim and the mark's is a probe by order or by id, with an
    // index condition (a join planned on an empty table may otherwise read a whole index per row of the other side).
    expect(readyIndexReads(claim!['QUERY PLAN'][0].Plan)).toEqual(['Index Scan']);
    expect(readyIndexReads(mark!['QUERY PLAN'][0].Plan)).toEqual([]);
    const unconditioned = (nodes: PlanNode[]) =>
      nodes.filter((node) => node['Index Name'] !== undefined && node['Index Name'] !== 'outbox_ready_idx' && !node['Index Cond']).map((node) => node['Index Name']);
    expect(unconditioned(claimNodes)).toEqual([]);
    expect(unconditioned(markNodes)).toEqual([]);
    // And they were planned generically: by name, not again per call.
    const { rows } = await relayDatabase.pool.query<{ name: string; generic: string; custom: string }>(
      'SELECT name, generic_plans AS generic, custom_plans AS custom FROM pg_prepared_statements ORDER BY name',
    );
    expect(rows.map((row) => [row.name, Number(row.generic) > 0, Number(row.custom)])).toEqual([
      ['relay-claim-500', true, 0],
      ['relay-mark', true, 0],
    ]);
  });

  it('when the claim is estimated to cost more than PostgreSQL compiles for, then the relay still runs it without JIT', async () => {
    const explain = sql<{ 'QUERY PLAN': [Record<string, unknown>] }>`EXPLAIN (ANALYZE, FORMAT JSON) ${claimRows(500, [1, 2, 3])}`;
    // Every plan is past the thresholds here, as the claim's is on a large outbox (about 640,000).
    const planWith = (localSettings?: LocalSettings) =>
      relayDatabase.run(
        'transaction',
        async (unit) => {
          await unit.read(sql`SELECT set_config('jit_above_cost', '0', true), set_config('jit_optimize_above_cost', '0', true)`);
          const [row] = await unit.read(explain);
          return row!['QUERY PLAN'][0];
        },
        localSettings ? { localSettings } : {},
      );
    expect(await planWith()).toHaveProperty('JIT');
    expect(await planWith(RELAY_PLANNER_SETTINGS)).not.toHaveProperty('JIT');
  });

  it('when the claim runs from its generic plan, then it claims what a plan made for the rows would: the heads and their runs up to the first held row', async () => {
    await freshClient.query('DELETE FROM outbox');
    const [first, second] = [randomUUID(), randomUUID()];
    await insertOutboxRows(freshClient, [
      { orderId: first, sequence: 1 },
      { orderId: first, sequence: 2 },
      { orderId: first, sequence: 3, status: 'Sagas' },
      { orderId: first, sequence: 4 },
      { orderId: second, sequence: 1, status: 'Sagas' },
      { orderId: second, sequence: 2 },
    ]);
    const claimed = await asRelay(claimRows(500));
    expect(claimed.map((row) => [row.aggregateId, row.sequence]).sort()).toEqual([
      [first, 1],
      [first, 2],
    ]);
  });

  it('when thousands of rows were confirmed here, then the claim runs the same prepared plan, hashing the list, and claims the rows behind them', async () => {
    await freshClient.query('DELETE FROM outbox');
    const orders = Array.from({ length: 2_500 }, () => randomUUID());
    await insertOutboxRows(freshClient, orders.flatMap((orderId) => [1, 2].map((sequence) => ({ orderId, sequence }))));
    const { rows: heads } = await freshClient.query<{ id: string }>('SELECT id FROM outbox WHERE sequence = 1 ORDER BY id');
    const confirmed = heads.map((row) => Number(row.id));
    const secondRows = (claimed: { aggregateId: string; sequence: number }[]) =>
      claimed.filter((row) => row.sequence === 2).map((row) => row.aggregateId).sort();
    // The heads are held by the batch that published them (another connection's transaction), as in a relay.
    const whileHeld = async <T>(work: () => Promise<T>): Promise<T> => {
      await freshClient.query('BEGIN');
      try {
        await freshClient.query('SELECT id FROM outbox WHERE id = ANY($1::bigint[]) FOR UPDATE', [confirmed]);
        return await work();
      } finally {
        await freshClient.query('ROLLBACK');
      }
    };
    const claimedBehind = (list: number[]) => whileHeld(() => asRelay(claimRows(2_500, list)));
    const query = claimRows(2_500, confirmed).toQuery(true);
    expect([query.name, query.values]).toEqual(['relay-claim-2500', [`{${confirmed.join(',')}}`, `{${confirmed.join(',')}}`]]);

    // Only the rows behind the heads can be claimed, and only where the head counts as confirmed.
    expect(secondRows(await claimedBehind(confirmed))).toEqual([...orders].sort());
    expect(secondRows(await claimedBehind(confirmed.slice(1)))).toEqual(orders.slice(1).sort());
    // Tested as a hashed subplan, built once per execution, not row by row against the list.
    const explained = await whileHeld(() => asRelay(sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, TIMING OFF) ${claimRows(2_500, confirmed)}`));
    const plan = explained.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/NOT \(hashed SubPlan \d+\)/);
    expect(plan).not.toMatch(/\bid <> ALL/);
  });
});

describe('transaction settings', () => {
  it('when a setting or its value is not a plain lower-case word, then the unit is refused before anything is sent', async () => {
    const settings = { 'enable_seqscan = off; DROP TABLE outbox; --': 'off' } as unknown as LocalSettings;
    await expect(database.run('transaction', (unit) => unit.read(sql`SELECT 1`), { localSettings: settings })).rejects.toThrow(/not a setting this service sets/);
    const bad = { enable_seqscan: 'off; DROP TABLE outbox' } as unknown as LocalSettings;
    await expect(database.run('transaction', (unit) => unit.read(sql`SELECT 1`), { localSettings: bad })).rejects.toThrow(/not a setting this service sets/);
    expect((await client.query(`SELECT to_regclass('outbox') IS NOT NULL AS present`)).rows[0].present).toBe(true);
  });

  it('when a transaction sets a planner setting, then it holds inside that transaction only', async () => {
    const inside = await database.run('transaction', (unit) => unit.read(sql<{ value: string }>`SELECT current_setting('enable_bitmapscan') AS value`), {
      localSettings: { enable_bitmapscan: 'off' },
    });
    const after = await database.run('transaction', (unit) => unit.read(sql<{ value: string }>`SELECT current_setting('enable_bitmapscan') AS value`));
    expect(inside[0]!.value).toBe('off');
    expect(after[0]!.value).toBe('on');
  });
});
