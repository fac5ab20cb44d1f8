import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, eventually, outboxRows, publishReplies, sagaStatus, settled, startSagaHarness, type SagaHarness } from './saga-helpers.js';

let h: SagaHarness;
beforeAll(async () => {
  h = await startSagaHarness({ SAGA_TIMEOUT: '1s' });
});
afterAll(() => h?.close());

const consumed = (outcome: string) => counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome });

describe('saga timeout', () => {
  it('when nobody answers within SAGA_TIMEOUT, then the scheduler cancels the orders with reason TimedOut and a late reply changes nothing', async () => {
    const orderIds = await Promise.all(Array.from({ length: 5 }, () => h.createOrder()));

    for (const orderId of orderIds) {
      await eventually(`the timeout of ${orderId}`, async () => (await sagaStatus(h.db, orderId)) === 'TimedOut');
      await settled(h, orderId);
      expect(h.events.of(orderId).map((e) => e.eventType)).toEqual(['OrderCreateSaga', 'OrderCanceled']);
      expect(h.events.of(orderId)[1]!.body).toMatchObject({ reason: 'TimedOut' });
      expect((await outboxRows(h.db, orderId)).map((r) => r.status)).toEqual(['Published', 'Discarded', 'Discarded', 'Discarded', 'Published']);
      expect((await h.t.http.get(`/api/v1/orders/${orderId}`)).status).toBe(404);
    }
    expect(await counter(h.t, 'saga_outcomes_total', { result: 'timed_out' })).toBe(orderIds.length);
    expect(await counter(h.t, 'saga_time_to_outcome_seconds', { result: 'timed_out' })).toBe(orderIds.length);

    const ignored = await consumed('ignored');
    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orderIds[0], orderType: 'Approved' }, messageId: randomUUID() }]);
    await eventually('the late reply handled', async () => (await consumed('ignored')) === ignored + 1);
    expect(await sagaStatus(h.db, orderIds[0]!)).toBe('TimedOut');
    expect((await h.t.http.get(`/api/v1/orders/${orderIds[0]}`)).status).toBe(404);
    expect(await counter(h.t, 'saga_outcomes_total', { result: 'approved' })).toBe(0);
  });
});

describe('the saga-timeout query', () => {
  it('when planned, then it can use the partial index of pending orders by deadline', async () => {
    // The handler's WHERE clause (time-out-orders.ts): it must imply the index predicate saga_status = 'Pending'.
    await h.db.query('BEGIN');
    try {
      await h.db.query('SET LOCAL enable_seqscan = off');
      const { rows } = await h.db.query(
        `EXPLAIN SELECT id FROM orders WHERE saga_status = 'Pending' AND saga_deadline <= $1::timestamptz ORDER BY saga_deadline LIMIT 100 FOR UPDATE SKIP LOCKED`,
        [new Date()],
      );
      expect(rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('orders_pending_saga_deadline_idx');
    } finally {
      await h.db.query('ROLLBACK');
    }
  });
});
