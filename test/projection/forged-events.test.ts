import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { RedisClient } from '../../src/platform/cache/redis.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { expect204, orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { createTestUser, drainQueue, queueDepth, type TestUser } from '../support/rabbitmq.js';
import { ApproveOrder } from '../../src/orders/saga/saga-reply-commands.js';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import { counter, databaseList, envelope, eventually, outboxEvents, rawRedis, startWithRoles } from './projection-harness.js';
import { projectionKeys as keys } from '../../src/orders/projection/projection-keys.js';
import { testRedisSettings } from '../support/test-redis.js';

const run = promisify(execFile);

let t: TestService;
let stopRoles: () => Promise<void>;
/** The projector (role consumers), started apart from the relay so that a test can hold it. */
let consumers: RunningRole | undefined;
let redis: RedisClient;
let catalog: Catalog;
let stranger: TestUser;
const realOrders: string[] = [];

beforeAll(async () => {
  ({ t, stopRoles } = await startWithRoles(['relay']));
  consumers = await ROLE_STARTERS.consumers(t.service);
  redis = rawRedis();
  catalog = await seedCatalog(t, 2, [100, 9.99]);
  for (let i = 0; i < 3; i++) realOrders.push(await createApprovedOrder());
  await eventually('the real orders projected', async () => (await t.http.get(`/api/v1/orders/user/${catalog.userId}`)).body.total === 3);
  // A user that may publish to the Orders exchange, as a customer service given too much could.
  stranger = await createTestUser(t.vhost, { configure: '^$', write: '^Orders$', read: '^$' });
}, 120_000);

afterAll(async () => {
  await stranger?.delete();
  await consumers?.stop();
  await stopRoles?.();
  redis?.disconnect();
  await t?.close();
});

/** An order created through HTTP and approved as a saga reply would: the relay publishes its events to Orders. */
async function createApprovedOrder(): Promise<string> {
  const body = orderBody(catalog);
  await expect204(t.http.post('/api/v1/orders').send(body));
  await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'test');
  return body.orderID;
}

const OUTCOMES = ['applied', 'duplicate', 'ignored', 'retried', 'dead_lettered'] as const;

/** The projector's outcomes on Orders so far, by outcome. */
async function outcomes(): Promise<Record<(typeof OUTCOMES)[number], number>> {
  const counts = await Promise.all(OUTCOMES.map((outcome) => counter(t, 'messages_consumed_total', { queue: 'Orders', outcome })));
  return Object.fromEntries(OUTCOMES.map((outcome, index) => [outcome, counts[index]!])) as Record<(typeof OUTCOMES)[number], number>;
}

/** The list the projection answers, compared byte for byte with PostgreSQL's. */
async function expectProjectionMatchesDatabase(): Promise<void> {
  const expected = JSON.stringify(envelope(await databaseList(t, catalog.userId), { limit: 1000, offset: 0, order: 'asc' }));
  expect((await t.http.get(`/api/v1/orders/user/${catalog.userId}`)).text).toBe(expected);
}

describe('events on Orders that the service did not publish', () => {
  it('when another RabbitMQ user publishes OrderAddProduct, OrderCreated and OrderDeleted among the service\'s own events, then each forged one is dead-lettered as untrusted_publisher, each genuine one is applied once, and the projection matches PostgreSQL', async () => {
    const fakeOrderId = randomUUID();
    const base = { eventTimeStamp: new Date().toISOString(), orderID: fakeOrderId };
    const forged = [
      { key: 'Order.AddProduct', sequence: 2, body: { ...base, eventID: randomUUID(), eventType: 'OrderAddProduct', clientID: catalog.userId, productID: randomUUID(), productName: '<script>alert(1)</script>', productPrice: 0.01, orderPrice: 0.01 } },
      {
        key: 'Order.Create',
        sequence: 3,
        body: {
          ...base,
          eventID: randomUUID(),
          eventType: 'OrderCreated',
          client: { clientID: catalog.userId, username: 'test' },
          orderStatus: 'New',
          paymentMethod: 'Card',
          deliveryAddress: { addressID: catalog.addressId, fullAddress: 'x' },
          serialNumber: 999_999,
          totalPrice: 0.01,
          createdAt: new Date().toISOString(),
        },
      },
      { key: 'Order.Delete', sequence: 99, body: { eventID: randomUUID(), eventType: 'OrderDeleted', eventTimeStamp: new Date().toISOString(), orderID: realOrders[0] } },
    ];
    const deadBefore = await counter(t, 'messages_dead_lettered_total', { queue: 'Orders', reason: 'untrusted_publisher' });
    const before = await outcomes();
    // The projector is held while the burst is published, so that every forged event is in the queue together with the
    // service's own events (and the projector's prefetch takes them in one go when it comes back). Which it handles
    // first is not known: nothing below depends on it.
    await consumers!.stop();
    consumers = undefined;
    const connection = await amqp.connect(stranger.url);
    const channel = await connection.createConfirmChannel();
    const genuineOrders: string[] = [];
    for (const [index, event] of forged.entries()) {
      genuineOrders.push(await createApprovedOrder());
      // With its own (validated) user_id on one, without any on the others: neither is the service's user.
      const userId = index === 0 ? { userId: stranger.name } : {};
      channel.publish('Orders', event.key, Buffer.from(JSON.stringify(event.body)), { persistent: true, headers: { 'x-event-sequence': event.sequence }, ...userId });
    }
    await channel.waitForConfirms();
    await connection.close();
    let genuine = 0;
    for (const orderId of genuineOrders) genuine += (await outboxEvents(t, orderId)).length;
    expect(genuine).toBeGreaterThanOrEqual(genuineOrders.length * 2);
    await eventually('the relay published every genuine event beside the forged ones', async () => (await queueDepth(t.amqpUrl, 'Orders')) === genuine + forged.length);
    consumers = await ROLE_STARTERS.consumers(t.service);

    await eventually('the forged events dead-lettered', async () => (await counter(t, 'messages_dead_lettered_total', { queue: 'Orders', reason: 'untrusted_publisher' })) - deadBefore === 3);
    await eventually('every message of the burst handled', async () => (await queueDepth(t.amqpUrl, 'Orders')) === 0 && (await outcomes()).applied - before.applied >= genuine);
    const after = await outcomes();
    // Each genuine event applied once: as many applied as there were, none retried, none a duplicate or ignored.
    expect(Object.fromEntries(OUTCOMES.map((outcome) => [outcome, after[outcome] - before[outcome]]))).toEqual({ applied: genuine, duplicate: 0, ignored: 0, retried: 0, dead_lettered: 3 });
    // The counter moves once each copy is confirmed; on a busy broker, wait for all three to be ready in the queue too.
    await eventually('the three copies in Orders.dead', async () => (await queueDepth(t.amqpUrl, 'Orders.dead')) === 3);
    const dead = await drainQueue(t.amqpUrl, 'Orders.dead');
    expect(dead.map((message) => message.properties.headers?.['x-dead-letter-reason'])).toEqual(['untrusted_publisher', 'untrusted_publisher', 'untrusted_publisher']);
    // The consumer handles different orders concurrently, so the copies may arrive in any order: find the one that
    // carried a user_id by the routing key it was published with.
    const withUserId = dead.find((message) => message.properties.headers?.['x-original-routing-key'] === 'Order.AddProduct');
    expect(withUserId?.properties.headers?.['x-original-user-id']).toBe(stranger.name);
    expect(dead.filter((message) => message.properties.headers?.['x-original-user-id'] !== undefined)).toHaveLength(1);
    expect((await databaseList(t, catalog.userId)).map((order) => order.OrderID)).toEqual(expect.arrayContaining([...realOrders, ...genuineOrders]));
    await expectProjectionMatchesDatabase();
    expect(await redis.exists(`${t.redisPrefix}${keys.order(catalog.userId, fakeOrderId)}`)).toBe(0);
  });
});

describe('a projection damaged before publishers were checked', () => {
  it('when `npm run projections -- rebuild` runs, then forged documents, tombstones, fields and keys of orders and users PostgreSQL does not have are gone', async () => {
    const key = (name: string) => `${t.redisPrefix}${name}`;
    const orderKey = (orderId: string, userId = catalog.userId) => key(keys.order(userId, orderId));
    const index = key(keys.userIndex(catalog.userId));
    const docs = key(keys.userDocs(catalog.userId));
    // What the forged events of issue 11 made: a fake order listed in a real user's list ...
    const fakeOrderId = randomUUID();
    const fakeMember = '0000000000999999';
    await redis.zadd(index, Date.now(), fakeMember);
    await redis.hset(docs, fakeMember, JSON.stringify({ OrderID: fakeOrderId, products: [{ name: '<script>alert(1)</script>', actualPrice: 0.01 }] }));
    await redis.hset(orderKey(fakeOrderId), 'user', catalog.userId, 'member', fakeMember, 'v', '3', 'vis', '1');
    // ... a real order hidden behind a tombstone of sequence 99 ...
    const hidden = realOrders[1]!;
    const hiddenMember = (await redis.hget(orderKey(hidden), 'member'))!;
    await redis.zrem(index, hiddenMember);
    await redis.hdel(docs, hiddenMember);
    await redis.del(orderKey(hidden));
    await redis.hset(orderKey(hidden), 'tomb', '99', 'v', '99');
    // ... a foreign field on another real order, and keys of an order and a user that do not exist at all.
    await redis.hset(orderKey(realOrders[2]!), 'l:50', '{"productID":"forged"}');
    const ghostOrder = randomUUID();
    const ghostUser = randomUUID();
    await redis.hset(orderKey(ghostOrder, ghostUser), 'user', ghostUser, 'l:2', '{}');
    await redis.zadd(key(keys.userIndex(ghostUser)), 1, '0000000000000001');
    await redis.hset(key(keys.userDocs(ghostUser)), '0000000000000001', '{}');
    await redis.set(key(keys.userBuilt(ghostUser)), '1');
    // ... and keys of the layout before the hash tags, which nothing reads any more.
    const oldLayout = [`proj:order:${realOrders[0]}`, `proj:user:${catalog.userId}:index`, `proj:user:${catalog.userId}:built`].map(key);
    for (const name of oldLayout) await redis.set(name, 'stale');

    const { stdout } = await run('npx', ['tsx', 'src/tools/projections.ts', 'rebuild'], {
      env: { ...process.env, ...testRedisSettings(), DATABASE_URL: t.databaseUrl, REDIS_KEY_PREFIX: t.redisPrefix, LOG_LEVEL: 'error' },
      timeout: 60_000,
    });
    // Repaired: the fake member taken off, the hidden order listed again (the merge itself rewrites the hash with the
    // foreign field). Deleted: the fake order's key, the ghost order's key and the ghost user's three keys, and the
    // three keys of the old layout.
    // Orders: the three made before and the three of the first test's burst.
    const orders = (await databaseList(t, catalog.userId)).length;
    expect(orders).toBe(6);
    expect(stdout).toMatch(new RegExp(`^projections rebuilt: users=1 orders=${orders} repaired=2 orphan_keys_deleted=5 old_layout_keys_deleted=3 seconds=\\d+\\.\\d\\d$`, 'm'));
    await expectProjectionMatchesDatabase();
    expect(await redis.hgetall(orderKey(realOrders[2]!))).toEqual({ user: catalog.userId, member: expect.any(String), v: expect.any(String), vis: '1' });
    for (const gone of [orderKey(fakeOrderId), orderKey(ghostOrder, ghostUser), ...[keys.userIndex(ghostUser), keys.userDocs(ghostUser), keys.userBuilt(ghostUser)].map(key), ...oldLayout]) {
      expect(await redis.exists(gone), gone).toBe(0);
    }
  });
});
