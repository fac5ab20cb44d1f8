import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { UnavailableError } from '../../src/kernel/errors.js';
import { Database } from '../../src/platform/database/database.js';
import { sql } from '../../src/platform/database/sql.js';

// Found by the PostgreSQL fault step (test/faults). While the server shuts down or starts up, it answers
// SQLSTATE 57P03 ("the database system is shutting down" / "... is starting up"), which once went out as a
// 500. A trigger raising 57P03 gives the same error through the same path, on demand.

let t: TestService;
let catalog: Catalog;
let db: pg.Client;
beforeAll(async () => {
  t = await startTestService();
  catalog = await seedCatalog(t, 2, [100, 9.99]);
  db = await connectPg(t.databaseUrl);
  await db.query(`
    CREATE FUNCTION shutting_down() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the database system is shutting down' USING ERRCODE = '57P03'; END $$`);
});
afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('PostgreSQL shutting down or starting up (SQLSTATE 57P03)', () => {
  it('when an order insert gets 57P03, then POST /orders answers 503 in the contract shape, not 500', async () => {
    await db.query('CREATE TRIGGER orders_shutting_down BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION shutting_down()');
    try {
      const res = await t.http.post('/api/v1/orders').send(orderBody(catalog));
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ message: 'database unavailable, try again', data: 'postgres' });
    } finally {
      await db.query('DROP TRIGGER orders_shutting_down ON orders');
    }
  });

  it('when a read gets 57P03, then it fails as the database being unavailable (consumers retry that)', async () => {
    const error = await t.service.database.read(sql`DO $$ BEGIN RAISE EXCEPTION 'the database system is starting up' USING ERRCODE = '57P03'; END $$`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UnavailableError);
  });
});

describe('a pooled connection terminated while it is checked out and idle', () => {
  it('when PostgreSQL ends it before its first query, then nothing throws and the pool goes on with a new connection', async () => {
    // pg-pool takes its own error listener off a client while it is checked out: an ErrorResponse landing then
    // (same socket read as the ReadyForQuery that freed the client) was an unhandled 'error' event that killed
    // the process.
    const database = new Database({ url: t.databaseUrl, poolSize: 2, timeoutMs: 2_000 });
    const { pool } = database;
    try {
      const client = await pool.connect();
      const ended = new Promise((resolve) => client.once('end', resolve));
      await db.query('SELECT pg_terminate_backend($1)', [(client as unknown as { processID: number }).processID]);
      await Promise.race([ended, sleep(10_000).then(() => Promise.reject(new Error('the terminated connection did not end')))]);
      client.release(true);
      expect(await database.read(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    } finally {
      await database.close();
    }
  });
});
