import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, drainQueue, eventually, publishReplies, sagaStatus } from './saga-helpers.js';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { placeOrder, seedCatalog, type Catalog } from '../support/fixtures.js';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import { MAX_DELIVERIES } from '../../src/platform/messaging/rabbitmq-consumer.js';

// The backstop of issue 11: whatever keeps bringing a message back (here a consumer that hands it back each time), a
// message delivered more than MAX_DELIVERIES times goes to CustomerSaga.dead as delivery_limit, even a valid reply.
// The service's consumers start only after the bounces, as a replica would that attaches while another misbehaves.

let t: TestService;
let db: pg.Client;
let catalog: Catalog;
let consumers: RunningRole | undefined;
beforeAll(async () => {
  t = await startTestService({ QUEUE_TYPE: 'quorum' });
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(15_000);
  db = await connectPg(t.databaseUrl);
  catalog = await seedCatalog(t, 2, [100, 9.99]);
});
afterAll(async () => {
  await consumers?.stop();
  await db?.end();
  await t?.close();
});

/** A Pending order made through HTTP (no scheduler runs, so it stays Pending unless a reply moves it). */
async function pendingOrder(): Promise<string> {
  const orderId = await placeOrder(t, catalog);
  expect(await sagaStatus(db, orderId)).toBe('Pending');
  return orderId;
}

/**
 * Takes the only message of CustomerSaga and hands it back `times` times (basic.get, then nack with requeue); returns
 * the x-delivery-count the broker put on each of those deliveries.
 */
async function bounce(times: number): Promise<unknown[]> {
  const connection = await amqp.connect(t.amqpUrl);
  try {
    const channel = await connection.createChannel();
    const counts: unknown[] = [];
    for (let i = 0; i < times; i++) {
      const message = await eventually('the reply back in CustomerSaga', async () => (await channel.get('CustomerSaga')) || undefined, 10_000);
      counts.push(message.properties.headers?.['x-delivery-count']);
      channel.nack(message, false, true);
    }
    await channel.close();
    return counts;
  } finally {
    await connection.close();
  }
}

const deadLettered = () => counter(t, 'messages_dead_lettered_total', { queue: 'CustomerSaga', reason: 'delivery_limit' });
const consumed = (outcome: string) => counter(t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome });
const applied = () => consumed('applied');
const handled = async () => (await applied()) + (await consumed('dead_lettered'));

describe('the delivery-count bound on a quorum queue', () => {
  it(`when a valid approval was delivered and handed back more than ${MAX_DELIVERIES} times, then it ends in CustomerSaga.dead as delivery_limit, its order stays Pending, and a reply beside it is applied once`, async () => {
    const [bounced, other] = [await pendingOrder(), await pendingOrder()];
    const messageId = randomUUID();
    await publishReplies(t.amqpUrl, [{ body: { orderID: bounced, orderType: 'Approved' }, messageId }]);

    const counts = await bounce(MAX_DELIVERIES + 1);
    // RabbitMQ 3.10 counts every return of a quorum queue's message (0 on its first delivery): the service's
    // consumer will get its 12th delivery, saying 11 earlier ones.
    expect(counts).toEqual(Array.from({ length: MAX_DELIVERIES + 1 }, (_, i) => i));

    await publishReplies(t.amqpUrl, [{ body: { orderID: other, orderType: 'Approved' }, messageId: randomUUID() }]);
    const before = { deadLettered: await deadLettered(), applied: await applied(), handled: await handled() };
    consumers = await ROLE_STARTERS.consumers(t.service);

    // Counted only after the order's commit or the dead copy's confirm, so what they did is visible once they are.
    await eventually('both replies handled', async () => (await handled()) - before.handled >= 2);
    expect({ bounced: await sagaStatus(db, bounced), other: await sagaStatus(db, other) }).toEqual({ bounced: 'Pending', other: 'Approved' });
    const dead = await drainQueue(t.amqpUrl, 'CustomerSaga.dead');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.properties.messageId).toBe(messageId);
    expect(dead[0]!.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'delivery_limit', 'x-original-queue': 'CustomerSaga' });
    expect(JSON.parse(dead[0]!.content.toString())).toEqual({ orderID: bounced, orderType: 'Approved' });

    expect({ deadLettered: (await deadLettered()) - before.deadLettered, applied: (await applied()) - before.applied }).toEqual({ deadLettered: 1, applied: 1 });
    expect(await drainQueue(t.amqpUrl, 'CustomerSaga')).toEqual([]);
  });
});
