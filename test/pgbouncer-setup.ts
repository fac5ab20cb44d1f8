import type { TestProject } from 'vitest/node';
import { startPgBouncer } from './support/pgbouncer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by this setup only: test services reach their database through this PgBouncer (transaction pooling). */
    pgbouncerUrl: string | undefined;
  }
}

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

/** For vitest.pgbouncer.config.ts: one PgBouncer for the run, in front of the test PostgreSQL server. */
export default async function setup(project: TestProject) {
  const pgbouncer = await startPgBouncer(SERVER_URL);
  project.provide('pgbouncerUrl', pgbouncer.baseUrl);
  return async () => {
    // A run that meant to go through PgBouncer and did not would prove nothing: say how much it carried.
    const carried = await pgbouncer.traffic().finally(() => pgbouncer.stop());
    console.log(`PgBouncer (transaction pooling) carried ${carried.transactions} transactions, ${carried.statements} statements, for the test services`);
    if (carried.statements === 0) throw new Error('no test service reached its database through PgBouncer');
  };
}
