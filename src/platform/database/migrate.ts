import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in name order and records each in
 * _prisma_migrations the way `prisma migrate deploy` does (same table, sha256 checksum), so either tool can
 * take over the other's history. A file changed after it was applied is refused, never re-run.
 */
export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {}

const HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

// Any constant works: it only keeps two migrating processes from applying the same file at once.
const MIGRATION_LOCK_KEY = 72_707_369;

export async function listMigrations(directory: string): Promise<Migration[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/**
 * Each migration in a transaction of its own that first takes a transaction-scoped advisory lock, then reads
 * whether the migration is recorded: ten replicas starting at once queue on the lock, and each later one finds the
 * file applied. The lock ends with its transaction, never with a session, so this works through a transaction
 * pooler (PgBouncer) as well as on a direct connection.
 */
export async function migrate(databaseUrl: string, directory = 'prisma/migrations'): Promise<MigrationResult> {
  const migrations = await listMigrations(directory);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const applied = await inTransaction(client, migration, () => applyUnlessRecorded(client, migration));
      (applied ? result.applied : result.alreadyApplied).push(migration.name);
    }
    return result;
  } finally {
    await client.end();
  }
}

/** Under the lock: true when this call applied the migration, false when it was already recorded. */
async function applyUnlessRecorded(client: pg.Client, migration: Migration): Promise<boolean> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  await client.query(HISTORY_TABLE);
  const { rows } = await client.query<{ checksum: string; finished_at: Date | null }>(
    'SELECT checksum, finished_at FROM "_prisma_migrations" WHERE migration_name = $1 AND rolled_back_at IS NULL',
    [migration.name],
  );
  const previous = rows[0];
  if (previous?.finished_at) {
    if (previous.checksum === migration.checksum) return false;
    throw new MigrationError(
      `migration ${migration.name} was changed after it was applied (checksum ${previous.checksum} in the ` +
        `database, ${migration.checksum} on disk); add a new migration instead of editing an applied one`,
    );
  }
  if (previous) {
    throw new MigrationError(`migration ${migration.name} started earlier but never finished; repair it by hand`);
  }
  await client.query(migration.sql);
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), now(), 1)`,
    [randomUUID(), migration.checksum, migration.name],
  );
  return true;
}

async function inTransaction<T>(client: pg.Client, migration: Migration, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await work();
    await client.query('COMMIT');
    return value;
  } catch (error) {
    await client.query('ROLLBACK');
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
  }
}

/** Creates the database named in the URL when it does not exist yet (connecting to the server's postgres db). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new MigrationError(`DATABASE_URL ${url.origin} names no database`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (error) {
    // Two processes starting at once: the other one created it first.
    if ((error as { code?: string }).code === '42P04') return false;
    throw error;
  } finally {
    await client.end();
  }
}
