import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/platform/database/database.js';
import { sql } from '../../src/platform/database/sql.js';
import { connectPg, createTestDatabase } from '../support/database.js';

// A transaction's first statement goes out with its BEGIN (and SET LOCALs) under one Sync (OpeningQuery). This file
// holds the promises that makes: one round trip fewer, nothing runs outside the transaction when the opening fails,
// and pg's record of what is prepared on the connection stays true whichever message failed.

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
  await client.query('TRUNCATE opening_probe');
});

const insert = (id: number) => sql`INSERT INTO opening_probe (id) VALUES (${id})`;
const insertPrepared = (id: number) => insert(id).prepared('opening-probe-insert');
const ids = async () => (await client.query<{ id: number }>('SELECT id FROM opening_probe ORDER BY id')).rows.map((row) => row.id);

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
    const { rows } = await client.query<{ active: number }>("SELECT count(*)::int AS active FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
    expect(rows[0]!.active).toBe(0);
  });
});
