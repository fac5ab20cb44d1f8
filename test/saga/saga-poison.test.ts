import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, drainQueue, eventually, publishReplies, sagaStatus, startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { expect204, orderBody } from '../support/fixtures.js';

let h: SagaHarness;
beforeAll(async () => {
  h = await startSagaHarness();
});
afterAll(() => h?.close());

describe('replies that can never be applied', () => {
  it('when each kind of poison reply arrives, then it reaches CustomerSaga.dead with its reason, and the service keeps serving', async () => {
    const orderId = await h.createOrder();
    const poison: [reason: string, body: string][] = [
      ['malformed_json', '{"orderID": "broken'],
      ['not_an_object', '["Approved"]'],
      ['invalid_order_id', JSON.stringify({ orderID: 'order-42', orderType: 'Approved' })],
      ['invalid_order_id', JSON.stringify({ orderType: 'Approved' })],
      ['unknown_order_type', JSON.stringify({ orderID: orderId, orderType: 'Maybe' })],
      ['unknown_order_type', JSON.stringify({ orderID: orderId })],
      ['unknown_order', JSON.stringify({ orderID: randomUUID(), orderType: 'Approved' })],
    ];
    const sent = poison.map(([reason, body]) => ({ reason, body, messageId: randomUUID() }));
    await publishReplies(h.t.amqpUrl, sent);

    const dead = new Map<string, { reason: unknown; body: string; originalQueue: unknown }>();
    await eventually('every poison reply dead-lettered', async () => {
      for (const message of await drainQueue(h.t.amqpUrl, 'CustomerSaga.dead')) {
        const headers = message.properties.headers ?? {};
        dead.set(String(message.properties.messageId), {
          reason: headers['x-dead-letter-reason'],
          body: message.content.toString('utf8'),
          originalQueue: headers['x-original-queue'],
        });
      }
      return dead.size === sent.length;
    });
    for (const message of sent) {
      expect(dead.get(message.messageId)).toEqual({ reason: message.reason, body: message.body, originalQueue: 'CustomerSaga' });
    }
    for (const reason of new Set(poison.map(([reason]) => reason))) {
      const expected = poison.filter(([r]) => r === reason).length;
      expect(await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga', reason })).toBe(expected);
    }
    // Nothing was applied, nothing is left in the queue, and the poison did not stop the consumer or HTTP.
    expect(await sagaStatus(h.db, orderId)).toBe('Pending');
    expect(await drainQueue(h.t.amqpUrl, 'CustomerSaga')).toEqual([]);
    expect((await h.t.http.get('/healthcheck')).status).toBe(200);
    await expect204(h.t.http.post('/api/v1/orders').send(orderBody(h.catalog)));
    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orderId, orderType: 'Approved' }, messageId: randomUUID() }]);
    await eventually('a good reply after the poison to be applied', async () => (await sagaStatus(h.db, orderId)) === 'Approved');
  });
});
