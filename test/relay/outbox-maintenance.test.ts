import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { startRelayRole } from '../../src/composition/relay-role.js';
import { OutboxRetentionJob, refreshOutboxGauges, RETENTION_BATCH } from '../../src/outbox/outbox-maintenance.js';
import { eventually } from './event-collector.js';
import { insertOutboxRows } from './outbox-rows.js';

let t: TestService;
let client: pg.Client;

beforeAll(async () => {
  t = await startTestService({ OUTBOX_RETENTION: '7d' });
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
  client = await connectPg(t.databaseUrl);
});
afterAll(async () => {
  await client?.end();
  await t.close();
});

const count = async (where: string) => Number((await client.query(`SELECT count(*) AS n FROM outbox WHERE ${where}`)).rows[0].n);
const gauge = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await t.service.metrics.registry.metrics())?.[1]);

/** Rows in a given state, many at once, straight in SQL. */
async function seed(rows: number, status: string, publishedAgo: string | null, readyAgo = '0 seconds'): Promise<void> {
  await client.query(
    `INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, status, ready_at, published_at)
     SELECT gen_random_uuid(), gen_random_uuid(), 1, 'Orders', 'Order.Test', 'OrderTestEvent', '{}', $2,
            now() - $4::interval, now() - $3::interval
     FROM generate_series(1, $1)`,
    [rows, status, publishedAgo, readyAgo],
  );
}

describe('outbox retention, gauges and stopping', () => {
  it('when published rows are older than the retention, then the retention job deletes them all, a bounded batch at a time, and nothing else', async () => {
    const old = RETENTION_BATCH * 2 + 123; // more than one batch: the job must loop
    await seed(old, 'Published', '8 days');
    await seed(50, 'Published', '6 days');
    await seed(20, 'Ready', null, '8 days');
    await seed(10, 'Parked', null, '8 days');

    await t.service.resolve(OutboxRetentionJob).run();

    expect(await count(`status = 'Published'`)).toBe(50);
    expect(await count(`status = 'Ready'`)).toBe(20);
    expect(await count(`status = 'Parked'`)).toBe(10);
  });

  it('when gauges are refreshed, then backlog, oldest ready age and parked rows come from the table', async () => {
    await refreshOutboxGauges(t.service.database, t.service.metrics);
    expect(await gauge('outbox_ready_backlog')).toBe(20);
    expect(await gauge('outbox_parked_rows')).toBe(10);
    // Ready for eight days: the age is at least that (a lower bound, not a timing threshold).
    expect(await gauge('outbox_oldest_ready_age_seconds')).toBeGreaterThanOrEqual(8 * 86_400);
    await client.query(`DELETE FROM outbox`);
  });

  it('when the relay role stops mid-drain, then the batch in flight is published and marked before stop returns, and the rest stays Ready', async () => {
    const orders = Array.from({ length: 4_000 }, () => randomUUID());
    await insertOutboxRows(client, orders.map((orderId) => ({ orderId, sequence: 1 })));
    const relay = await startRelayRole(t.service);
    await eventually('some rows published', async () => (await count(`status = 'Published'`)) > 0);
    await relay.stop();

    // Metrics are recorded after each batch commits: equal counts mean no batch was cut off half-way.
    const published = await count(`status = 'Published'`);
    const text = await t.service.metrics.registry.metrics();
    expect(Number(/^outbox_published_total (\d+)/m.exec(text)?.[1])).toBe(published);
    expect(await count(`status = 'Ready'`)).toBe(4_000 - published);
    // No transaction of the relay is left open holding rows.
    const { rows } = await client.query(`SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'outbox' AND l.pid <> pg_backend_pid()`);
    expect(Number(rows[0].n)).toBe(0);
  });
});
