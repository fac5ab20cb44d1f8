import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../src/generated/prisma/client.js';

/**
 * A Prisma client with the pg driver adapter, for bench/persistence-options.ts, which measures it beside the
 * service's own way to PostgreSQL (docs/architecture.md says why the service uses the latter).
 */
export function createPrismaClient(url: string, poolSize: number): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
}
