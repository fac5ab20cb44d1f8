import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureDatabase, migrate } from '../src/platform/database/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabaseUrl: string;
    testRunId: string;
  }
}

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

/** Migrates one template database per run; test files clone it (CREATE DATABASE ... TEMPLATE) in ~0.1 s. */
export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}${process.pid}`;
  const templateUrl = `${SERVER_URL}/os_test_${runId}_template`;
  await ensureDatabase(templateUrl);
  await migrate(templateUrl);
  project.provide('templateDatabaseUrl', templateUrl);
  project.provide('testRunId', runId);

  return async () => {
    const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`os_test_${runId}%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    await admin.end();
  };
}
