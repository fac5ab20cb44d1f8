import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client.js';

export type Database = PrismaClient;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** Bounds connecting and each statement, so a dead PostgreSQL answers 503 instead of hanging requests. */
  timeoutMs: number;
}

export function createDatabase(options: DatabaseOptions): Database {
  return createDatabaseOnPool(createPool(options));
}

/** Prisma over a pool the caller also uses directly (the relay); disconnecting Prisma ends the pool. */
export function createDatabaseOnPool(pool: pg.Pool): Database {
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}

/**
 * The connection pool under Prisma. Every connection gets an 'error' listener of its own for its whole life:
 * pg-pool takes its listener off a connection while it is checked out, and Prisma's adapter adds one only after
 * awaiting pool.connect(), so a connection that PostgreSQL ended in between (terminated, server shutting down)
 * emitted 'error' with no listener, and that killed the process. The failure still reaches the caller: the next
 * query on that connection fails (as "database unavailable") and the pool discards it on release.
 */
export function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.timeoutMs,
    idleTimeoutMillis: 30_000,
    // Statement time is bounded well above the dependency timeout: a slow but healthy query must not fail.
    statement_timeout: Math.max(options.timeoutMs * 5, 10_000),
  });
  pool.on('connect', (client) => client.on('error', () => undefined));
  // An idle connection that PostgreSQL ended (a restart, a terminated backend, a database dropped with FORCE) is
  // reported on the pool, which drops it; the next checkout opens a fresh one. Without a listener the report
  // would be an uncaught 'error' event, and that ends the process.
  pool.on('error', () => undefined);
  return pool;
}
