import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { counter, eventually, outboxRows, publishReplies, sagaStatus, settled, startSagaHarness, type SagaHarness } from './saga-helpers.js';

let h: SagaHarness;
let admin: pg.Client;
let databaseName: string;
beforeAll(async () => {
  h = await startSagaHarness();
  const url = new URL(h.t.databaseUrl);
  databaseName = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
});
afterAll(async () => {
  await admin?.query(`ALTER DATABASE ${pg.escapeIdentifier(databaseName)} ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await h?.close();
});

const consumed = (outcome: string) => counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome });

/** Refuses new connections to the test database and ends every open one (the test's own included). */
async function takeDatabaseAway(): Promise<void> {
  await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(databaseName)} ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName]);
}

describe('PostgreSQL unavailable to the saga consumer', () => {
  it('when a reply arrives while PostgreSQL refuses connections, then it is retried, not dead-lettered, and applied once afterwards', async () => {
    const orderId = await h.createOrder();
    // The relay marks the saga request published only after the broker's confirm, which on a quorum queue may come
    // after the request already reached a consumer; taking the database away in between makes it publish the request
    // again (at least once, as it should), which is not what this test is about.
    await eventually('the saga request marked published', async () => (await outboxRows(h.db, orderId)).some((row) => row.event_type === 'OrderCreateSaga' && row.status === 'Published'));
    const messageId = randomUUID();
    const retriedBefore = await consumed('retried');
    h.db.on('error', () => undefined); // terminated below; a fresh client takes its place afterwards
    await takeDatabaseAway();
    try {
      await publishReplies(h.t.amqpUrl, [{ body: { orderID: orderId, orderType: 'Approved' }, messageId }]);
      // Deterministic: no attempt can succeed while connections are refused. Past the consumer's attempt limit
      // for unexpected errors (5), so the failure is known to be classed as transient, not merely retried a while.
      await eventually('the consumer to retry the reply', async () => (await consumed('retried')) >= retriedBefore + 6);
      expect(await consumed('applied')).toBe(0);
      expect(await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga' })).toBe(0);
    } finally {
      await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(databaseName)} ALLOW_CONNECTIONS true`);
    }
    const lost = h.db;
    h.db = new pg.Client({ connectionString: h.t.databaseUrl });
    await h.db.connect();
    await lost.end().catch(() => undefined);

    await eventually('the approval after PostgreSQL is back', async () => (await sagaStatus(h.db, orderId)) === 'Approved');
    await settled(h, orderId);
    expect(await consumed('applied')).toBe(1);
    expect(await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga' })).toBe(0);
    expect(await counter(h.t, 'saga_outcomes_total', { result: 'approved' })).toBe(1);
    expect((await h.db.query('SELECT count(*)::int AS n FROM inbox WHERE message_id = $1', [messageId])).rows[0].n).toBe(1);
    const events = h.events.of(orderId);
    expect(events.map((e) => e.eventType)).toEqual(['OrderCreateSaga', 'OrderAddProduct', 'OrderAddProduct', 'OrderCreated']);
    expect(new Set(events.map((e) => e.eventID)).size).toBe(events.length);
    expect((await h.t.http.get(`/api/v1/orders/${orderId}`)).body.sagaStatus).toBe('Approved');
  });
});
