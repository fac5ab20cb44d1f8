/**
 * Which way to talk to PostgreSQL (issue 13, docs/architecture.md): the cost of one statement and of a
 * read-then-write transaction through Prisma's model API, Prisma's $queryRaw tagged templates and Prisma's
 * interactive transaction, against one pg pool with the `sql` tag and the service's units of work. All on the same
 * pool size, the same rows, in this one process: what differs is the client code's CPU per statement.
 *
 *   npx tsx bench/persistence-options.ts        (BENCH_SECONDS=4 BENCH_CONNECTIONS=16 BENCH_ROUNDS=2)
 */
import { randomUUID } from 'node:crypto';
import { createBenchEnvironment, printLoad, printMachine } from './support/bench-env.js';
import { createPrismaClient } from './support/prisma-client.js';
import { Database } from '../src/platform/database/database.js';
import { sql } from '../src/platform/database/sql.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PRODUCTS = 1_000;

type Variant = { name: string; op: (id: string) => Promise<unknown> };

async function main(): Promise<void> {
  printMachine('persistence options: one statement and a read-then-write transaction', { seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, pool_size: CONNECTIONS });
  const env = await createBenchEnvironment();
  const database = new Database({ url: env.databaseUrl, poolSize: CONNECTIONS, timeoutMs: 5_000 });
  const prisma = createPrismaClient(env.databaseUrl, CONNECTIONS);
  try {
    const ids = await seed(database);
    const byId = (id: string) => sql<{ id: string; name: string; price_cents: number }>`SELECT id, name, price_cents FROM products WHERE id = ${id}::uuid`;
    const lock = (id: string) => sql`SELECT id, discount FROM products WHERE id = ${id}::uuid FOR UPDATE`;
    const touch = (id: string) => sql`UPDATE products SET discount = discount WHERE id = ${id}::uuid`;
    const variants: Variant[] = [
      { name: 'statement: Prisma model API (findUnique)', op: (id) => prisma.product.findUnique({ where: { id }, select: { id: true, name: true, priceCents: true } }) },
      { name: 'statement: Prisma $queryRaw', op: (id) => prisma.$queryRaw`SELECT id, name, price_cents FROM products WHERE id = ${id}::uuid` },
      { name: 'statement: pg pool + sql tag', op: (id) => database.read(byId(id)) },
      {
        name: 'transaction: Prisma $transaction (lock, update)',
        op: (id) =>
          prisma.$transaction(async (tx) => {
            await tx.$queryRaw`SELECT id, discount FROM products WHERE id = ${id}::uuid FOR UPDATE`;
            await tx.$executeRaw`UPDATE products SET discount = discount WHERE id = ${id}::uuid`;
          }),
      },
      { name: 'transaction: unit of work (lock, update)', op: (id) => database.run('transaction', async (unit) => (await unit.read(lock(id)), unit.write(touch(id)))) },
    ];
    const results = new Map<string, { ops: number; cpuMs: number; seconds: number }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) {
        const result = await measure(variant, ids);
        const sum = results.get(variant.name) ?? { ops: 0, cpuMs: 0, seconds: 0 };
        results.set(variant.name, { ops: sum.ops + result.ops, cpuMs: sum.cpuMs + result.cpuMs, seconds: sum.seconds + SECONDS });
      }
    }
    for (const [name, { ops, cpuMs, seconds }] of results) {
      console.log(`${name}: ${(ops / seconds).toFixed(0)} ops/s, client cpu ${((cpuMs * 1000) / ops).toFixed(1)} us/op`);
    }
    printLoad('load after');
  } finally {
    await prisma.$disconnect();
    await database.close();
    await env.cleanup();
  }
}

async function seed(database: Database): Promise<string[]> {
  const ids = Array.from({ length: PRODUCTS }, () => randomUUID());
  await database.run('statement', (unit) =>
    unit.write(sql`INSERT INTO products (id, name, description, price_cents, discount)
      SELECT id, 'Product ' || id, '', 1000, 10 FROM unnest(${ids}::uuid[]) AS id`),
  );
  await database.read(sql`ANALYZE products`);
  return ids;
}

/** CONNECTIONS loops doing the operation on random rows for SECONDS; ops done and this process's CPU used. */
async function measure(variant: Variant, ids: string[]): Promise<{ ops: number; cpuMs: number }> {
  const end = Date.now() + SECONDS * 1000;
  let ops = 0;
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        await variant.op(ids[Math.floor(Math.random() * ids.length)]!);
        ops++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { ops, cpuMs: (used.user + used.system) / 1000 };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
