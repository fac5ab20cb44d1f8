import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, drainQueue, eventually, outboxRows, publishReplies, sagaStatus, settled, startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { TimeOutOrders } from '../../src/orders/saga/time-out-orders.js';
import { deleteExpiredInboxRows } from '../../src/inbox/inbox-retention.js';

let h: SagaHarness;
beforeAll(async () => {
  h = await startSagaHarness();
});
afterAll(() => h?.close());

const consumed = (outcome: string) => counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome });
const outcomes = (result: string) => counter(h.t, 'saga_outcomes_total', { result });

describe('saga replies on CustomerSaga', () => {
  it('when the customer service approves, then the held events are published once, in order, after the approval, and the saga request is not republished', async () => {
    const orderId = await h.createOrder();
    // Before the reply: only the saga request went out (the relay may not have marked it yet); the announcement is held.
    expect((await outboxRows(h.db, orderId)).map((r) => r.status).slice(1)).toEqual(['Sagas', 'Sagas', 'Sagas']);
    expect(h.events.of(orderId).map((e) => e.eventType)).toEqual(['OrderCreateSaga']);
    const [approvedBefore, applied] = [await outcomes('approved'), await consumed('applied')];

    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orderId, orderType: 'Approved' }, messageId: randomUUID() }]);
    await eventually('the reply handled', async () => (await consumed('applied')) === applied + 1);
    expect(await sagaStatus(h.db, orderId)).toBe('Approved');
    await settled(h, orderId);

    const events = h.events.of(orderId);
    expect(events.map((e) => [e.eventType, e.routingKey])).toEqual([
      ['OrderCreateSaga', 'Order.Saga.Create'],
      ['OrderAddProduct', 'Order.AddProduct'],
      ['OrderAddProduct', 'Order.AddProduct'],
      ['OrderCreated', 'Order.Create'],
    ]);
    expect(new Set(events.map((e) => e.eventID)).size).toBe(4);
    const onOrderSaga = (await drainQueue(h.t.amqpUrl, 'OrderSaga')).filter((m) => JSON.parse(m.content.toString()).orderID === orderId);
    expect(onOrderSaga).toHaveLength(1);

    const order = await h.t.http.get(`/api/v1/orders/${orderId}`);
    expect(order.status).toBe(200);
    expect(order.body.sagaStatus).toBe('Approved');
    expect((await h.t.http.get('/api/v1/orders')).body.orders.map((o: { OrderID: string }) => o.OrderID)).toContain(orderId);
    expect(await outcomes('approved')).toBe(approvedBefore + 1);
    expect(await counter(h.t, 'saga_time_to_outcome_seconds', { result: 'approved' })).toBeGreaterThanOrEqual(1);
  });

  it('when the customer service rejects, then the order is 404 everywhere, OrderCanceled is published and no held event ever is', async () => {
    const orderId = await h.createOrder();
    const [rejectedBefore, applied] = [await outcomes('rejected'), await consumed('applied')];

    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orderId, orderType: 'Rejected' }, messageId: randomUUID() }]);
    await eventually('the reply handled', async () => (await consumed('applied')) === applied + 1);
    expect(await sagaStatus(h.db, orderId)).toBe('Rejected');
    await settled(h, orderId);

    expect(h.events.of(orderId).map((e) => e.eventType)).toEqual(['OrderCreateSaga', 'OrderCanceled']);
    expect(h.events.of(orderId)[1]!.body).toMatchObject({ orderID: orderId, reason: 'Rejected' });
    expect((await outboxRows(h.db, orderId)).map((r) => r.status)).toEqual(['Published', 'Discarded', 'Discarded', 'Discarded', 'Published']);
    expect((await h.t.http.get(`/api/v1/orders/${orderId}`)).status).toBe(404);
    expect((await h.t.http.delete(`/api/v1/orders/${orderId}`)).status).toBe(404);
    expect((await h.t.http.get('/api/v1/orders')).body.orders.map((o: { OrderID: string }) => o.OrderID)).not.toContain(orderId);
    expect(await outcomes('rejected')).toBe(rejectedBefore + 1);
  });

  it('when a reply comes through the Orders exchange with a Customer.Saga key and keys in other cases, then it is applied', async () => {
    const orderId = await h.createOrder();
    const applied = await consumed('applied');
    await publishReplies(h.t.amqpUrl, [{ body: JSON.stringify(JSON.stringify({ OrderId: orderId.toUpperCase(), ORDERTYPE: 'approved' })), routingKey: 'Customer.Saga.Reply' }]);
    await eventually('the reply handled', async () => (await consumed('applied')) === applied + 1);
    expect(await sagaStatus(h.db, orderId)).toBe('Approved');
  });

  it('when the same reply arrives twice under one message id, then it is applied once and the copy counts as a duplicate', async () => {
    const orderId = await h.createOrder();
    const [applied, duplicates] = [await consumed('applied'), await consumed('duplicate')];
    const messageId = randomUUID();
    const reply = { body: { orderID: orderId, orderType: 'Approved' }, messageId };

    await publishReplies(h.t.amqpUrl, [reply, reply]);
    await eventually('both copies handled', async () => (await consumed('applied')) + (await consumed('duplicate')) === applied + duplicates + 2);
    await settled(h, orderId);

    expect(await consumed('applied')).toBe(applied + 1);
    expect(await consumed('duplicate')).toBe(duplicates + 1);
    expect((await h.db.query('SELECT consumer FROM inbox WHERE message_id = $1', [messageId])).rows).toEqual([{ consumer: 'saga-reply' }]);
    expect(h.events.of(orderId).map((e) => e.eventType)).toEqual(['OrderCreateSaga', 'OrderAddProduct', 'OrderAddProduct', 'OrderCreated']);
  });

  it('when a late or contradicting reply comes after the saga ended, with or without a message id, then it changes nothing and is acknowledged', async () => {
    const orderId = await h.createOrder();
    const applied = await consumed('applied');
    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orderId, orderType: 'Approved' } }]);
    await eventually('the reply handled', async () => (await consumed('applied')) === applied + 1);
    const ignored = await consumed('ignored');

    await publishReplies(h.t.amqpUrl, [
      { body: { orderID: orderId, orderType: 'Rejected' }, messageId: randomUUID() },
      { body: { orderID: orderId, orderType: 'Rejected' } },
      { body: { orderID: orderId, orderType: 'Approved' } },
    ]);
    await eventually('the late replies handled', async () => (await consumed('ignored')) === ignored + 3);
    await settled(h, orderId);

    expect(await sagaStatus(h.db, orderId)).toBe('Approved');
    expect(h.events.of(orderId).map((e) => e.eventType)).toEqual(['OrderCreateSaga', 'OrderAddProduct', 'OrderAddProduct', 'OrderCreated']);
    expect((await h.t.http.get(`/api/v1/orders/${orderId}`)).status).toBe(200);
  });

  it('when an approval and a rejection race for each of several orders, then each order gets exactly one outcome and only its events', async () => {
    const orderIds = await Promise.all(Array.from({ length: 8 }, () => h.createOrder()));
    const before = { approved: await outcomes('approved'), rejected: await outcomes('rejected') };
    const handled = (await consumed('applied')) + (await consumed('ignored'));

    // One confirm channel, both replies of an order back to back: the consumer (prefetch 32) takes them together.
    await publishReplies(
      h.t.amqpUrl,
      orderIds.flatMap((orderID, i) => {
        const pair = [{ body: { orderID, orderType: 'Approved' }, messageId: randomUUID() }, { body: { orderID, orderType: 'Rejected' }, messageId: randomUUID() }];
        return i % 2 === 0 ? pair : pair.reverse();
      }),
    );
    await eventually('every reply handled', async () => (await consumed('applied')) + (await consumed('ignored')) === handled + 16);

    let approved = 0;
    for (const orderId of orderIds) {
      await settled(h, orderId);
      const status = await sagaStatus(h.db, orderId);
      const types = h.events.of(orderId).map((e) => e.eventType);
      if (status === 'Approved') {
        approved++;
        expect(types).toEqual(['OrderCreateSaga', 'OrderAddProduct', 'OrderAddProduct', 'OrderCreated']);
      } else {
        expect(status).toBe('Rejected');
        expect(types).toEqual(['OrderCreateSaga', 'OrderCanceled']);
      }
    }
    expect(await outcomes('approved')).toBe(before.approved + approved);
    expect(await outcomes('rejected')).toBe(before.rejected + orderIds.length - approved);
  });

  it('when the timeout job runs before any deadline passed, then no pending order is touched', async () => {
    const orderId = await h.createOrder();
    expect(await h.t.service.mediator.send(TimeOutOrders, {}, 'test')).toEqual({ timedOut: 0, claimed: 0 });
    expect(await sagaStatus(h.db, orderId)).toBe('Pending');
    expect((await h.t.http.delete(`/api/v1/orders/${orderId}`)).status).toBe(409);
  });

  it('when inbox retention runs, then rows older than the retention go and newer ones stay, each message by its own receipt', async () => {
    const old = [randomUUID(), randomUUID()];
    const recent = randomUUID();
    const reused = randomUUID();
    const digest = (n: number) => String(n).repeat(64);
    await h.db.query(`INSERT INTO inbox (consumer, message_id, payload_digest, received_at) SELECT 'saga-reply', id, $2, now() - interval '8 days' FROM unnest($1::text[]) AS id`, [old, digest(1)]);
    await h.db.query(`INSERT INTO inbox (consumer, message_id, payload_digest, received_at) VALUES ('saga-reply', $1, $2, now() - interval '6 days')`, [recent, digest(1)]);
    // One id, two messages: the first past the retention, the second not.
    await h.db.query(`INSERT INTO inbox (consumer, message_id, payload_digest, received_at) VALUES ('saga-reply', $1, $2, now() - interval '8 days'), ('saga-reply', $1, $3, now() - interval '1 day')`, [reused, digest(1), digest(2)]);
    expect(await deleteExpiredInboxRows(h.t.service.database, h.t.config.INBOX_RETENTION)).toBe(3);
    const { rows } = await h.db.query('SELECT message_id, payload_digest FROM inbox WHERE message_id = ANY($1::text[]) ORDER BY message_id = $2', [[...old, recent, reused], reused]);
    expect(rows).toEqual([{ message_id: recent, payload_digest: digest(1) }, { message_id: reused, payload_digest: digest(2) }]);
  });
});
