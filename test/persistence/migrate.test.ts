import { cp, mkdtemp, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { inject } from 'vitest';
import { ensureDatabase, migrate, MigrationError } from '../../src/platform/database/migrate.js';
import { connectPg } from '../support/database.js';

const template = new URL(inject('templateDatabaseUrl'));
const url = new URL(template);
url.pathname = `${template.pathname.replace(/_template$/, '')}_migrate_${process.pid}`;

async function dropDatabase() {
  const admin = new pg.Client({ connectionString: new URL('/postgres', template).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(url.pathname.slice(1))} WITH (FORCE)`);
  await admin.end();
}

beforeAll(dropDatabase);
afterAll(dropDatabase);

describe('the migration step', () => {
  it('when the database is missing, then it is created and every migration is applied and recorded once', async () => {
    expect(await ensureDatabase(url.toString())).toBe(true);
    const first = await migrate(url.toString());
    expect(first.applied.length).toBeGreaterThan(0);
    const second = await migrate(url.toString());
    expect(second).toEqual({ applied: [], alreadyApplied: first.applied });

    const client = await connectPg(url.toString());
    const { rows } = await client.query('SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name');
    await client.end();
    expect(rows.map((row) => row.migration_name)).toEqual(first.applied);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
    }
  });

  it('when an applied migration file was changed, then migrating refuses and says which file', async () => {
    const copy = await mkdtemp(path.join(tmpdir(), 'migrations-'));
    await cp('prisma/migrations', copy, { recursive: true });
    const [firstName] = (await migrate(url.toString(), copy)).alreadyApplied;
    await appendFile(path.join(copy, firstName!, 'migration.sql'), '\n-- edited after the fact\n');
    await expect(migrate(url.toString(), copy)).rejects.toThrow(MigrationError);
    await expect(migrate(url.toString(), copy)).rejects.toThrow(new RegExp(`${firstName} was changed after it was applied`));
  });
});
