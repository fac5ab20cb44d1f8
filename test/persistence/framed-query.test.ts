import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/platform/database/database.js';
import { StatementAfterCommit } from '../../src/platform/database/unit-of-work.js';
import { sql } from '../../src/platform/database/sql.js';
import { connectPg, createTestDatabase } from '../support/database.js';

// A transaction's first statement goes out with its BEGIN (and SET LOCALs), and its last (writeAndCommit) with its
// COMMIT, under one Sync (FramedQuery). This file holds the promises that makes: a round trip fewer at each end,
// nothing runs outside the transaction when the opening fails, nothing commits when the last statement fails, a
// COMMIT that fails fails the statement, and pg's record of what is prepared on the connection stays true whichever
// message failed.

let client: pg.Client;
/** One connection, so that every unit runs where the statements before it were prepared. */
let database: Database;
let drop: (() => Promise<void>) | undefined;
/** Ready-for-query messages the database's one connection received: one per Sync (a simple query has one too). */
let syncs = 0;

beforeAll(async () => {
  const test = await createTestDatabase();
  drop = test.drop;
  client = await connectPg(test.url);
  await client.query('CREATE TABLE opening_probe (id int PRIMARY KEY)');
  // Its uniqueness is checked at COMMIT: a transaction that breaks it fails there, after its statements succeeded.
  await client.query('CREATE TABLE deferred_probe (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)');
  database = new Database({ url: test.url, poolSize: 1, timeoutMs: 5_000 });
  const connection = await database.pool.connect();
  (connection as unknown as { connection: pg.Connection }).connection.on('readyForQuery', () => syncs++);
  connection.release();
});
afterAll(async () => {
  await database?.close();
  await client?.end();
  await drop?.();
});
beforeEach(async () => {
  await client.query('TRUNCATE opening_probe, deferred_probe');
});

const insert = (id: number) => sql`INSERT INTO opening_probe (id) VALUES (${id})`;
const insertPrepared = (id: number) => insert(id).prepared('opening-probe-insert');
const ids = async () => (await client.query<{ id: number }>('SELECT id FROM opening_probe ORDER BY id')).rows.map((row) => row.id);
const openTransactions = async () =>
  (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'")).rows[0]!.n;

describe('a transaction opened with its first statement', () => {
  it('when a unit runs one statement, then BEGIN, the statement and COMMIT take two round trips, and the statement ran inside the transaction', async () => {
    const before = syncs;
    await database.run('transaction', (unit) => unit.write(insert(1)));
    expect(syncs - before).toBe(2);
    await expect(database.run('transaction', async (unit) => {
      await unit.write(insert(2));
      throw new Error('changed my mind');
    })).rejects.toThrow('changed my mind');
    expect(await ids()).toEqual([1]);
  });

  it('when the first statement reads, then its rows come back alone, typed as the service reads them', async () => {
    const rows = await database.run('transaction', (unit) => unit.read(sql<{ n: number; word: string }>`SELECT ${41}::bigint + 1 AS n, 'forty-two' AS word`));
    expect(rows).toEqual([{ n: 42, word: 'forty-two' }]);
  });

  it('when the server refuses an opening statement, then the first statement does not run, not even on its own', async () => {
    await expect(database.run('transaction', (unit) => unit.write(insert(1)), { localSettings: { enable_seqscan: 'sometimes' } })).rejects.toThrow(/Boolean/);
    expect(await ids()).toEqual([]);
    await database.run('transaction', (unit) => unit.write(insert(2)));
    expect(await ids()).toEqual([2]);
  });

  it('when the opening failed before a prepared statement was parsed, then its next use parses it again', async () => {
    await expect(database.run('transaction', (unit) => unit.write(insertPrepared(1)), { localSettings: { enable_seqscan: 'sometimes' } })).rejects.toThrow(/Boolean/);
    await database.run('transaction', (unit) => unit.write(insertPrepared(2)));
    expect(await ids()).toEqual([2]);
  });

  it('when a prepared statement fails after it was parsed, then its next use goes by name, and the transaction was rolled back', async () => {
    await database.run('transaction', (unit) => unit.write(insertPrepared(5)));
    await expect(database.run('transaction', (unit) => unit.write(insertPrepared(5)))).rejects.toThrow(/duplicate key/);
    await database.run('transaction', (unit) => unit.write(insertPrepared(6)));
    expect(await ids()).toEqual([5, 6]);
    expect(await openTransactions()).toBe(0);
  });
});

describe('a transaction committed with its last statement', () => {
  it('when a unit writes twice and commits with the second, then it takes two round trips, and both writes committed', async () => {
    const before = syncs;
    const rows = await database.run('transaction', async (unit) => {
      await unit.write(insert(1));
      return unit.writeAndCommit(sql<{ id: number }>`INSERT INTO opening_probe (id) VALUES (${2}) RETURNING id`);
    });
    expect(syncs - before).toBe(2);
    expect(rows).toEqual([{ id: 2 }]);
    expect(await ids()).toEqual([1, 2]);
  });

  it('when a unit runs only writeAndCommit, then BEGIN, the statement and COMMIT take one round trip', async () => {
    const before = syncs;
    await database.run('transaction', (unit) => unit.writeAndCommit(insertPrepared(3)));
    expect(syncs - before).toBe(1);
    expect(await ids()).toEqual([3]);
  });

  it('when the last statement fails, then COMMIT does not run and the writes before it roll back', async () => {
    await expect(database.run('transaction', async (unit) => {
      await unit.write(insert(1));
      await unit.writeAndCommit(insert(1));
    })).rejects.toThrow(/duplicate key/);
    expect(await ids()).toEqual([]);
    expect(await openTransactions()).toBe(0);
    await database.run('transaction', (unit) => unit.writeAndCommit(insert(4)));
    expect(await ids()).toEqual([4]);
  });

  it('when COMMIT itself fails, then the statement fails, its rows are not returned, and nothing was committed', async () => {
    const rowsSeen: unknown[] = [];
    await expect(database.run('transaction', async (unit) => {
      await unit.write(sql`INSERT INTO deferred_probe (id) VALUES (${7})`);
      rowsSeen.push(...(await unit.writeAndCommit(sql<{ id: number }>`INSERT INTO deferred_probe (id) VALUES (${7}) RETURNING id`)));
    })).rejects.toThrow(/duplicate key/);
    expect(rowsSeen).toEqual([]);
    const { rows } = await client.query('SELECT id FROM deferred_probe');
    expect(rows).toEqual([]);
    expect(await openTransactions()).toBe(0);
    await database.run('transaction', (unit) => unit.writeAndCommit(insert(5)));
    expect(await ids()).toEqual([5]);
  });

  it('when the work runs a statement after writeAndCommit, then it is refused, and what committed stays committed', async () => {
    await expect(database.run('transaction', async (unit) => {
      await unit.writeAndCommit(insert(6));
      await unit.write(insert(7));
    })).rejects.toThrow(StatementAfterCommit);
    expect(await ids()).toEqual([6]);
    expect(await openTransactions()).toBe(0);
  });

  it('when a single-statement unit writes with writeAndCommit, then it is its one write, committed as it ran', async () => {
    const before = syncs;
    await database.run('statement', (unit) => unit.writeAndCommit(insert(8)));
    expect(syncs - before).toBe(1);
    expect(await ids()).toEqual([8]);
  });
});
