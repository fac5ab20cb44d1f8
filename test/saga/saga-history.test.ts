import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { counter, eventually } from '../support/polling.js';
import { publishReply } from '../support/workload.js';
import { deletePublishedRows } from '../../src/outbox/outbox-maintenance.js';
import { MAX_RECORDED_REPLIES } from '../../src/orders/persistence/saga-reply-log.js';

// GET /api/v1/orders/:orderID/history on real servers: what the service stores about an order's saga, and the
// reply log it keeps to answer (written in the reply's unit of work, bounded per order).

let h: SagaHarness;
beforeAll(async () => {
  h = await startSagaHarness();
});
afterAll(() => h?.close());

const history = async (orderId: string) => {
  const res = await h.t.http.get(`/api/v1/orders/${orderId}/history`);
  expect(res.status, res.text).toBe(200);
  return res.body as Record<string, any>;
};
const consumed = (outcome: string) => counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome });
const ended = async (orderId: string, status: string) =>
  eventually(`saga ${status}`, async () => (await h.db.query('SELECT saga_status FROM orders WHERE id = $1', [orderId])).rows[0]?.saga_status === status);
const allPublished = async (orderId: string) =>
  eventually('every ready row published', async () => (await h.db.query(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND status = 'Ready'`, [orderId])).rows[0].n === 0);

describe('an order history', () => {
  it('when an order was approved, then each event is published with its time, the reply is applied, a redelivery counts and a late reply is ignored', async () => {
    const orderId = await h.createOrder();
    // The saga request can reach its queue before the relay's mark-published commits: wait for that commit.
    await allPublished(orderId);
    const pending = await history(orderId);
    expect(pending).toMatchObject({ orderID: orderId, sagaStatus: 'Pending', sagaEndedAt: null, replies: [], timeout: null });
    expect(pending.events.map((e: any) => [e.sequence, e.eventType, e.status])).toEqual([
      [1, 'OrderCreateSaga', 'published'],
      [2, 'OrderAddProduct', 'held'],
      [3, 'OrderAddProduct', 'held'],
      [4, 'OrderCreated', 'held'],
    ]);

    const messageId = `reply-${randomUUID()}`;
    await publishReply(h.t, { orderID: orderId, orderType: 'Approved' }, { messageId });
    await ended(orderId, 'Approved');
    const duplicates = await consumed('duplicate');
    await publishReply(h.t, { orderID: orderId, orderType: 'Approved' }, { messageId });
    await eventually('the copy counted as a duplicate', async () => (await consumed('duplicate')) > duplicates);
    const ignored = await consumed('ignored');
    await publishReply(h.t, { orderID: orderId, orderType: 'Rejected' });
    await eventually('the late reply ignored', async () => (await consumed('ignored')) > ignored);
    await allPublished(orderId);

    const done = await history(orderId);
    expect(done.sagaStatus).toBe('Approved');
    expect(done.events.every((e: any) => e.status === 'published' && typeof e.publishedAt === 'string' && e.publishedAt >= e.recordedAt)).toBe(true);
    expect(done.replies).toEqual([
      { receivedAt: expect.any(String), messageId, decision: 'Approved', outcome: 'applied', reason: null, duplicates: 1 },
      { receivedAt: expect.any(String), messageId: null, decision: 'Rejected', outcome: 'ignored', reason: 'already_approved', duplicates: 0 },
    ]);
    expect(done.retention).toEqual({ eventsRecorded: 4, eventsShown: 4, publishedEventsKeptSeconds: 7 * 86_400, repliesKeptSeconds: 30 * 86_400, repliesRecordedPerOrder: MAX_RECORDED_REPLIES });
  });

  it('when an order was rejected, then its held events are discarded and OrderCanceled is published', async () => {
    const orderId = await h.createOrder();
    await publishReply(h.t, { orderID: orderId, orderType: 'Rejected' });
    await ended(orderId, 'Rejected');
    await allPublished(orderId);
    const body = await history(orderId);
    expect(body.events.map((e: any) => [e.eventType, e.status])).toEqual([
      ['OrderCreateSaga', 'published'],
      ['OrderAddProduct', 'discarded'],
      ['OrderAddProduct', 'discarded'],
      ['OrderCreated', 'discarded'],
      ['OrderCanceled', 'published'],
    ]);
    expect(body.replies).toMatchObject([{ decision: 'Rejected', outcome: 'applied' }]);
    expect(body.timeout).toBeNull();
  });

  it('when the saga timed out, then the timeout says when it fired', async () => {
    const orderId = await h.createOrder();
    await h.db.query(`UPDATE orders SET saga_deadline = now() - interval '1 second' WHERE id = $1`, [orderId]);
    await ended(orderId, 'TimedOut');
    const body = await history(orderId);
    expect(body.timeout).toEqual({ firedAt: body.sagaEndedAt });
    expect(typeof body.sagaEndedAt).toBe('string');
  });

  it('when a reply for a known order is dead-lettered, then the history records why; one for no order leaves no record', async () => {
    const orderId = await h.createOrder();
    const before = await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga' });
    await publishReply(h.t, { orderID: orderId, orderType: 'Maybe' }, { messageId: 'bad-type' });
    await publishReply(h.t, { orderID: randomUUID(), orderType: 'Approved' });
    await eventually('both dead-lettered', async () => (await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga' })) >= before + 2);
    const body = await eventually('the record', async () => {
      const current = await history(orderId);
      return current.replies.length > 0 ? current : undefined;
    });
    expect(body.replies).toEqual([{ receivedAt: expect.any(String), messageId: 'bad-type', decision: null, outcome: 'dead_lettered', reason: 'unknown_order_type', duplicates: 0 }]);
    expect(body.sagaStatus).toBe('Pending');
    const orphans = await h.db.query('SELECT count(*)::int AS n FROM saga_replies r WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = r.order_id)');
    expect(orphans.rows[0].n).toBe(0);
  });

  it(`when an order gets more than ${MAX_RECORDED_REPLIES} replies, then ${MAX_RECORDED_REPLIES} are recorded and the rest only handled`, async () => {
    const orderId = await h.createOrder();
    await publishReply(h.t, { orderID: orderId, orderType: 'Approved' });
    await ended(orderId, 'Approved');
    const ignored = await consumed('ignored');
    for (let i = 0; i < MAX_RECORDED_REPLIES + 5; i++) await publishReply(h.t, { orderID: orderId, orderType: 'Approved' });
    await eventually('every late reply handled', async () => (await consumed('ignored')) >= ignored + MAX_RECORDED_REPLIES + 5);
    const body = await history(orderId);
    expect(body.replies).toHaveLength(MAX_RECORDED_REPLIES);
    expect(body.replies[0]).toMatchObject({ outcome: 'applied' });
  });

  it('when a row is parked and published rows are past retention, then the history shows the parked row and says how many events it no longer has', async () => {
    const orderId = await h.createOrder();
    await h.db.query(`UPDATE outbox SET status = 'Parked', attempts = 10, last_error = 'no_exchange: gone' WHERE aggregate_id = $1 AND sequence = 2`, [orderId]);
    await deletePublishedRows(h.t.service.database, 0);
    const body = await history(orderId);
    expect(body.events.map((e: any) => [e.sequence, e.status])).toEqual([
      [2, 'parked'],
      [3, 'held'],
      [4, 'held'],
    ]);
    expect(body.events[0]).toMatchObject({ attempts: 10, lastError: 'no_exchange: gone', nextAttemptAt: null });
    expect(body.retention).toMatchObject({ eventsRecorded: 4, eventsShown: 3 });
  });

  it('when the order does not exist or the id is not a UUID, then 404 and 400 with the contract error body', async () => {
    const unknown = randomUUID();
    expect((await h.t.http.get(`/api/v1/orders/${unknown}/history`)).body).toEqual({ message: 'order not found', data: unknown });
    const bad = await h.t.http.get(`/api/v1/orders/${'x'.repeat(500)}/history`);
    expect(bad.status).toBe(400);
    expect(bad.body.data.length).toBeLessThan(150);
  });
});
