import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { inject } from 'vitest';
import { Database } from '../../src/platform/database/database.js';
import { listMigrations, migrate } from '../../src/platform/database/migrate.js';
import { sql } from '../../src/platform/database/sql.js';
import { UnavailableError } from '../../src/kernel/errors.js';
import { createTestDatabase } from '../support/database.js';
import { startPgBouncer, type RunningPgBouncer } from '../support/pgbouncer.js';
import { captureLogs } from '../support/log-capture.js';

// The service behind Debian's PgBouncer in transaction pooling mode, started here on a free port. The contract
// suite runs through one as well (vitest.pgbouncer.config.ts); this file checks what only a pooler can break.

const template = new URL(inject('templateDatabaseUrl'));
let pgbouncer: RunningPgBouncer;
beforeAll(async () => {
  pgbouncer = await startPgBouncer(template.toString());
});
afterAll(async () => {
  await pgbouncer?.stop();
});

async function emptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${template.pathname.slice(1).replace(/_template$/, '')}_pgb_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: new URL('/postgres', template).toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await admin.end();
  const direct = new URL(`/${name}`, template).toString();
  return {
    url: direct,
    async drop() {
      const client = new pg.Client({ connectionString: new URL('/postgres', template).toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await client.end();
    },
  };
}

describe('migrations through PgBouncer', () => {
  it('when ten replicas start at once on an empty database, then every migration is applied exactly once', async () => {
    const database = await emptyDatabase();
    try {
      const expected = (await listMigrations('prisma/migrations')).map((migration) => migration.name);
      const results = await Promise.all(Array.from({ length: 10 }, () => migrate(pgbouncer.urlFor(database.url))));

      const applied = results.flatMap((result) => result.applied).sort();
      expect(applied).toEqual(expected);
      for (const result of results) expect([...result.applied, ...result.alreadyApplied].sort()).toEqual(expected);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name');
      await client.end();
      expect(rows.map((row) => row.migration_name)).toEqual(expected);
    } finally {
      await database.drop();
    }
  });
});

describe('the database pool through PgBouncer', () => {
  it('when DATABASE_POOL_MODE is transaction, then each transaction carries its own timeouts and no other client inherits them', async () => {
    const test = await createTestDatabase();
    const database = new Database({ url: pgbouncer.urlFor(test.url), poolMode: 'transaction', poolSize: 3, timeoutMs: 2_000 });
    try {
      const inside = await database.run('transaction', async (unit) => {
        const [timeout] = await unit.read(sql<{ statement_timeout: string }>`SHOW statement_timeout`);
        const [idle] = await unit.read(sql<{ idle_in_transaction_session_timeout: string }>`SHOW idle_in_transaction_session_timeout`);
        return [timeout!.statement_timeout, idle!.idle_in_transaction_session_timeout];
      });
      expect(inside).toEqual(['10s', '10s']);
      // Outside a transaction, on whichever server connection PgBouncer hands out: the server's default.
      const outside = await Promise.all(Array.from({ length: 6 }, () => database.read(sql<{ statement_timeout: string }>`SHOW statement_timeout`)));
      expect(outside.map((rows) => rows[0]!.statement_timeout)).toEqual(Array(6).fill('0'));
    } finally {
      await database.close();
      await test.drop();
    }
  });

  it('when DATABASE_POOL_MODE is left at session, then requests get 503 and the log says which settings to change', async () => {
    const test = await createTestDatabase();
    const logs = captureLogs();
    const database = new Database({ url: pgbouncer.urlFor(test.url), poolSize: 2, timeoutMs: 2_000, logger: logs.logger });
    try {
      await expect(database.read(sql`SELECT 1`)).rejects.toBeInstanceOf(UnavailableError);
      await expect(database.run('transaction', (unit) => unit.read(sql`SELECT 1`))).rejects.toBeInstanceOf(UnavailableError);
      const told = logs.entries.filter((entry) => entry.level === 'error');
      expect(told).toHaveLength(1);
      expect(String(told[0]!.message)).toMatch(/DATABASE_POOL_MODE=transaction and DATABASE_LISTEN_URL/);
    } finally {
      await database.close();
      await test.drop();
    }
  });
});
