import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxSignal } from '../../src/outbox/outbox-signal.js';
import { recordMessage } from '../../src/inbox/inbox-statements.js';
import { OrderRepository } from '../../src/orders/persistence/order-repository.js';
import { Database } from '../../src/platform/database/database.js';
import { connectPg, createTestDatabase } from '../support/database.js';

const { escapeIdentifier, escapeLiteral } = pg;

// The order's creation context and the saga reply's inbox-and-lock statement are prepared, with PostgreSQL's
// default plan cache mode: after five custom plans, a generic one is kept if it is estimated no dearer. A plan made
// while a table was one page long reads it whole (a sequential scan is cheapest there), and a generic plan is kept
// until the table's statistics change. What keeps that from lasting as the table grows is that analyzing it (as
// autovacuum does once a tenth of it changed) makes PostgreSQL plan again. This file holds that to be so.

/** What EXPLAIN (FORMAT JSON) says of one plan node, as far as this test reads it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
/** The tables a plan reads whole. */
const scannedWhole = (plan: PlanNode) => nodesOf(plan).filter((node) => node['Node Type'] === 'Seq Scan').map((node) => node['Relation Name']);

let client: pg.Client;
/** One connection, so that every statement runs where the repository's were prepared. */
let database: Database;
let drop: (() => Promise<void>) | undefined;
const repository = new OrderRepository(new OutboxSignal());

beforeAll(async () => {
  const test = await createTestDatabase();
  drop = test.drop;
  client = await connectPg(test.url);
  database = new Database({ url: test.url, poolSize: 1, timeoutMs: 5_000 });
});
afterAll(async () => {
  await database?.close();
  await client?.end();
  await drop?.();
});

/** Adds `count` users, each with an address, and as many products, orders and inbox rows. */
async function grow(count: number): Promise<{ userId: string; addressId: string; productId: string; orderId: string }> {
  const { rows } = await client.query<{ userId: string; addressId: string; productId: string; orderId: string }>(
    `WITH n AS (SELECT i, gen_random_uuid() AS address_id, gen_random_uuid() AS user_id, gen_random_uuid() AS product_id,
                       gen_random_uuid() AS order_id FROM generate_series(1, $1::int) AS i),
          a AS (INSERT INTO addresses (id, building_number, street_name, city, country) SELECT address_id, i, 'Main', 'Town', 'Land' FROM n),
          u AS (INSERT INTO users (id, username, address_id) SELECT user_id, 'user-' || user_id, address_id FROM n),
          r AS (INSERT INTO inbox (consumer, message_id, payload_digest) SELECT 'plans-test', order_id::text, repeat('c', 64) FROM n),
          p AS (INSERT INTO products (id, name, description, price_cents, discount) SELECT product_id, 'product-' || product_id, '', 100, 0 FROM n),
          o AS (INSERT INTO orders (id, user_id, delivery_address_id, payment_method, order_status, saga_status, saga_deadline, total_cents,
                                    request_fingerprint, last_event_sequence, created_at)
                SELECT order_id, user_id, address_id, 'CreditCard', 'Created', 'Pending', now() + interval '1 hour', 100, 'test', 1, now() FROM n)
     SELECT user_id AS "userId", address_id AS "addressId", product_id AS "productId", order_id AS "orderId" FROM n LIMIT 1`,
    [count],
  );
  return rows[0]!;
}

/** The plan of a statement prepared on the connection (EXPLAIN EXECUTE takes its arguments as literals). */
async function planOf(name: string, values: string[]): Promise<PlanNode> {
  const literals = values.map((value) => escapeLiteral(value)).join(', ');
  const { rows } = await database.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) EXECUTE ${escapeIdentifier(name)}(${literals})`);
  return rows[0]!['QUERY PLAN'][0].Plan;
}

describe('prepared statements planned while the tables were small', () => {
  it('when the tables have grown and been analyzed since, then the creation context and the reply lock read them by key', async () => {
    const small = await grow(1);
    await client.query('VACUUM ANALYZE addresses, users, products, orders, inbox');
    const inbox = { messageId: randomUUID(), payloadDigest: 'a'.repeat(64) };
    for (let call = 0; call < 8; call += 1) {
      await database.run('statement', (unit) =>
        repository.loadCreationContext(unit, { orderId: small.orderId, userId: small.userId, addressId: small.addressId, productIds: [small.productId] }),
      );
      await database.run('transaction', (unit) => repository.getForUpdateWith(unit, small.orderId, recordMessage('plans-test', { ...inbox, messageId: randomUUID() })));
    }
    const { rows: prepared } = await database.pool.query<{ name: string; generic: string }>(
      'SELECT name, generic_plans AS generic FROM pg_prepared_statements ORDER BY name',
    );
    expect(prepared.map((row) => [row.name, Number(row.generic) > 0])).toEqual([
      ['order-creation-context', true],
      ['order-lock-with-inbox-record', true],
    ]);
    const contextValues = [small.orderId, small.userId, small.addressId, `{${small.productId}}`];
    const lockValues = ['plans-test', randomUUID(), 'b'.repeat(64), small.orderId];
    // The state this test is about: made on one-page tables, the generic plans read some of them whole.
    expect(scannedWhole(await planOf('order-creation-context', contextValues)).length + scannedWhole(await planOf('order-lock-with-inbox-record', lockValues)).length).toBeGreaterThan(0);

    await grow(20_000);
    await client.query('ANALYZE addresses, users, products, orders, inbox');

    expect(scannedWhole(await planOf('order-creation-context', contextValues))).toEqual([]);
    expect(scannedWhole(await planOf('order-lock-with-inbox-record', lockValues))).toEqual([]);
    // And what they return is still right.
    const context = await database.run('statement', (unit) =>
      repository.loadCreationContext(unit, { orderId: small.orderId, userId: small.userId, addressId: small.addressId, productIds: [small.productId] }),
    );
    expect([context.username, context.products.map((product) => product.id)]).toEqual([`user-${small.userId}`, [small.productId]]);
  });
});
