import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/platform/cache/redis.js';
import type { TestService } from '../support/service.js';
import { expect204, orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { ApproveOrder, RejectOrder } from '../../src/orders/saga/saga-reply-commands.js';
import { ROLE_STARTERS } from '../../src/composition/roles.js';
import { RabbitConsumer } from '../../src/platform/messaging/rabbitmq-consumer.js';
import { consumerLimits } from '../../src/composition/consumers-role.js';
import { OrderProjector } from '../../src/orders/projection/order-projector.js';
import type { Channel } from 'amqplib';
import {
  asMessage,
  counter,
  databaseList,
  drainQueue,
  eventually,
  outboxEvents,
  projectedDocs,
  projectorDone,
  publishToOrdersQueue,
  rawRedis,
  seededRandom,
  shuffle,
  startWithRoles,
  type OutboxEvent,
  type RawMessage,
} from './projection-harness.js';

const seed = Number(process.env.PROJECTION_SEED ?? Date.now() % 1_000_000);

// No relay here: the test is the only publisher, so it decides what the projector sees and in which order.
let t: TestService;
let stopRoles: () => Promise<void>;
let redis: RedisClient;
let catalog: Catalog;
let sent = 0;

beforeAll(async () => {
  ({ t, stopRoles } = await startWithRoles(['consumers']));
  redis = rawRedis();
  catalog = await seedCatalog(t, 4, [100, 9.99, 0.5, 20]);
}, 120_000);

afterAll(async () => {
  await stopRoles?.();
  redis?.disconnect();
  await t?.close();
});

/** A fresh user whose list is built (empty) before their orders exist, so only the published events fill it. */
async function newUser(): Promise<string> {
  const userId = randomUUID();
  await expect204(t.http.post('/api/v1/users').send({ userID: userId, username: 'reorder', addressID: catalog.addressId }));
  expect((await t.http.get(`/api/v1/orders/user/${userId}`)).body.total).toBe(0);
  return userId;
}

/** Creates and approves an order (deleting it if asked), and returns its outbox events, none published. */
async function approvedOrder(userId: string, options: { deleted?: boolean; products?: number } = {}): Promise<OutboxEvent[]> {
  const body = orderBody({ ...catalog, userId, products: catalog.products.slice(0, options.products ?? 3) });
  await expect204(t.http.post('/api/v1/orders').send(body));
  await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'test');
  if (options.deleted) await expect204(t.http.delete(`/api/v1/orders/${body.orderID}`));
  return outboxEvents(t, body.orderID);
}

async function publish(messages: RawMessage[]): Promise<void> {
  await publishToOrdersQueue(t, messages);
  sent += messages.length;
  await eventually(`the projector to handle ${sent} messages`, async () => (await projectorDone(t)) >= sent);
}

/** The user's list and every stored order JSON equal what PostgreSQL says. */
async function expectProjectionMatchesDatabase(userId: string): Promise<void> {
  const expected = await databaseList(t, userId);
  const res = await t.http.get(`/api/v1/orders/user/${userId}`);
  expect(res.body).toEqual({ orders: expected, count: expected.length, total: expected.length, limit: 1000, offset: 0, order: 'asc' });
  const docs = await projectedDocs(redis, t, userId);
  expect([...docs.keys()].sort()).toEqual(expected.map((order) => order.OrderID).sort());
  for (const [orderId, doc] of docs) expect(doc).toBe((await t.http.get(`/api/v1/orders/${orderId}`)).text);
}

describe('projection under redelivery, duplication and reordering', () => {
  it('when every event arrives twice, or OrderAddProduct after OrderCreated, then the list is as if each came once in order', async () => {
    const userId = await newUser();
    const inOrder = await approvedOrder(userId);
    const doubled = await approvedOrder(userId);
    const createdFirst = await approvedOrder(userId, { products: 4 });
    await publish(inOrder.map(asMessage));
    await publish(doubled.flatMap((event) => [asMessage(event), asMessage(event)]));
    const created = createdFirst.at(-1)!;
    await publish([created, ...createdFirst.slice(0, -1).reverse()].map(asMessage));
    await expectProjectionMatchesDatabase(userId);
    expect((await databaseList(t, userId)).length).toBe(3);
  });

  it('when OrderDeleted arrives before the order\'s other events, then the order stays deleted', async () => {
    const userId = await newUser();
    const kept = await approvedOrder(userId);
    const deleted = await approvedOrder(userId, { deleted: true });
    expect(deleted.at(-1)!.eventType).toBe('OrderDeleted');
    await publish([asMessage(deleted.at(-1)!), ...[...kept, ...deleted.slice(0, -1)].map(asMessage)]);
    await expectProjectionMatchesDatabase(userId);
    expect((await databaseList(t, userId)).map((order) => order.OrderID)).toEqual([JSON.parse(kept[0]!.body).orderID]);
  });

  it('when a whole stream is redelivered after the order was deleted or canceled, then nothing comes back', async () => {
    const userId = await newUser();
    const deleted = await approvedOrder(userId, { deleted: true });
    await publish(deleted.map(asMessage));
    await publish(deleted.map(asMessage));
    // A rejected order's announcement is discarded, never published; were it published late, the cancel still wins.
    const body = orderBody({ ...catalog, userId });
    await expect204(t.http.post('/api/v1/orders').send(body));
    await t.service.mediator.send(RejectOrder, { orderID: body.orderID }, 'test');
    const rejected = await outboxEvents(t, body.orderID);
    expect(rejected.at(-1)!.eventType).toBe('OrderCanceled');
    await publish([asMessage(rejected.at(-1)!), ...rejected.slice(0, -1).map(asMessage)]);
    await expectProjectionMatchesDatabase(userId);
    expect(await databaseList(t, userId)).toEqual([]);
  });

  it('when an order that is listed gets OrderCanceled, then it is removed', async () => {
    const userId = await newUser();
    const events = await approvedOrder(userId);
    await publish(events.map(asMessage));
    expect((await t.http.get(`/api/v1/orders/user/${userId}`)).body.total).toBe(1);
    const orderID = JSON.parse(events[0]!.body).orderID as string;
    const cancel = { eventID: randomUUID(), eventType: 'OrderCanceled', eventTimeStamp: new Date().toISOString(), orderID, reason: 'Rejected' };
    await publish([{ body: JSON.stringify(cancel), headers: { 'x-event-sequence': events.at(-1)!.sequence + 1 } }]);
    expect((await t.http.get(`/api/v1/orders/user/${userId}`)).body).toMatchObject({ orders: [], total: 0 });
  });

  it(`when many orders' events arrive shuffled and duplicated (seed ${seed}), then the list equals the database's`, async () => {
    const userId = await newUser();
    const random = seededRandom(seed);
    const streams: OutboxEvent[][] = [];
    for (let i = 0; i < 12; i++) streams.push(await approvedOrder(userId, { deleted: i % 4 === 0, products: 1 + (i % 4) }));
    const all = streams.flat();
    const duplicates = all.filter(() => random() < 0.3);
    await publish(shuffle([...all, ...duplicates], random).map(asMessage));
    await expectProjectionMatchesDatabase(userId);
    expect((await databaseList(t, userId)).length).toBe(9);

    // Everything once more, as after a consumer crash: no event applies a second time.
    const applied = await counter(t, 'messages_consumed_total', { queue: 'Orders', outcome: 'applied' });
    await publish(shuffle(all, random).map(asMessage));
    expect(await counter(t, 'messages_consumed_total', { queue: 'Orders', outcome: 'applied' })).toBe(applied);
    await expectProjectionMatchesDatabase(userId);
  });

  it('when the consumers restart between duplicates, then the state is the same', async () => {
    const userId = await newUser();
    const events = await approvedOrder(userId, { products: 2 });
    await publish(events.slice(0, 2).map(asMessage));
    await stopRoles();
    const consumers = await ROLE_STARTERS.consumers(t.service);
    stopRoles = () => consumers.stop();
    await publish(events.map(asMessage));
    await expectProjectionMatchesDatabase(userId);
    expect((await databaseList(t, userId)).length).toBe(1);
  });

  it('when the broker closes the projector\'s channel while the connection lives on, then it consumes again on a new channel', async () => {
    await stopRoles();
    const consumer = new RabbitConsumer(t.service.rabbit, t.service.resolve(OrderProjector), consumerLimits(t.service), t.service.logger, t.service.metrics);
    await consumer.start();
    stopRoles = () => consumer.stop();
    await (consumer as unknown as { channel: Channel }).channel.close();
    const userId = await newUser();
    await publish((await approvedOrder(userId)).map(asMessage));
    await expectProjectionMatchesDatabase(userId);
    expect((await databaseList(t, userId)).length).toBe(1);
  });
});

describe('poison events on the Orders queue', () => {
  it('when an event is not JSON, has an unknown eventType, no orderID or no sequence, then it reaches Orders.dead with its reason', async () => {
    const orderID = randomUUID();
    const base = { eventID: randomUUID(), eventTimeStamp: new Date().toISOString(), orderID };
    await publish([
      { body: '{"eventType": "OrderCreated", ', headers: { 'x-event-sequence': 3 }, messageId: 'poison-json' },
      { body: JSON.stringify({ ...base, eventType: 'OrderShipped' }), headers: { 'x-event-sequence': 3 }, messageId: 'poison-type' },
      { body: JSON.stringify({ ...base, orderID: undefined, eventType: 'OrderDeleted' }), headers: { 'x-event-sequence': 3 }, messageId: 'poison-order' },
      { body: JSON.stringify({ ...base, eventType: 'OrderDeleted' }), messageId: 'poison-sequence' },
    ]);
    let dead: Awaited<ReturnType<typeof drainQueue>> = [];
    await eventually('four dead letters', async () => {
      dead = [...dead, ...(await drainQueue(t, 'Orders.dead'))];
      return dead.length >= 4;
    });
    const reasons = Object.fromEntries(dead.map((m) => [m.properties.messageId, m.properties.headers?.['x-dead-letter-reason']]));
    expect(reasons).toEqual({
      'poison-json': 'invalid_json',
      'poison-type': 'unknown_event_type',
      'poison-order': 'missing_order_id',
      'poison-sequence': 'missing_sequence',
    });
    expect(dead[0]!.content.length).toBeGreaterThan(0);
    expect(await counter(t, 'messages_dead_lettered_total', { queue: 'Orders' })).toBe(4);
  });
});
