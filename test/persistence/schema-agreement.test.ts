import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connectPg, createTestDatabase } from '../support/database.js';
import { readPrismaModels } from '../support/prisma-schema.js';

// What each Prisma scalar type must be in PostgreSQL (information_schema.columns.data_type).
const EXPECTED_TYPE: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  DateTime: 'timestamp with time zone',
  Json: 'jsonb',
  Boolean: 'boolean',
};

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  database = await createTestDatabase();
  client = await connectPg(database.url);
});
afterAll(async () => {
  await client.end();
  await database.drop();
});

describe('the migrated database and prisma/schema.prisma', () => {
  const models = readPrismaModels();

  it('when the schema is read, then it names every table the service uses', () => {
    expect(models.map((model) => model.table).sort()).toEqual(['addresses', 'inbox', 'order_lines', 'orders', 'outbox', 'products', 'saga_replies', 'users']);
  });

  for (const model of models) {
    it(`when migrations are applied, then table ${model.table} has every column of model ${model.name} with its type and nullability`, async () => {
      const { rows } = await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
        [model.table],
      );
      const actual = new Map(rows.map((row) => [row.column_name, row]));
      for (const column of model.columns) {
        const row = actual.get(column.column);
        expect(row, `${model.table}.${column.column}`).toBeDefined();
        const expectedType = column.list ? 'ARRAY' : column.nativeType === 'Uuid' ? 'uuid' : EXPECTED_TYPE[column.type];
        expect(row!.data_type, `${model.table}.${column.column} type`).toBe(expectedType);
        expect(row!.is_nullable === 'YES', `${model.table}.${column.column} nullable`).toBe(column.nullable);
      }
      // And no column exists that the schema does not know (a migration that Prisma cannot see).
      expect([...actual.keys()].sort()).toEqual(model.columns.map((column) => column.column).sort());
    });
  }
});
