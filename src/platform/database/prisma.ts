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
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.timeoutMs,
    idleTimeoutMillis: 30_000,
    // Statement time is bounded well above the dependency timeout: a slow but healthy query must not fail.
    statement_timeout: Math.max(options.timeoutMs * 5, 10_000),
  });
  return new PrismaClient({ adapter });
}
