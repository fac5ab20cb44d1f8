import { randomUUID } from 'node:crypto';
import amqp, { type GetMessage } from 'amqplib';
import { expect } from 'vitest';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import type { Role } from '../../src/config.js';
import type { OrderJson } from '../../src/orders/order-json.js';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204 } from '../support/fixtures.js';
import { counter, eventually } from '../support/polling.js';
import { drainQueue as drainRabbitQueue } from '../support/rabbitmq.js';
import { connectTestRedis, deleteKeysWithPrefix } from '../support/test-redis.js';
import { projectionKeys } from '../../src/orders/projection/projection-keys.js';
import type { RedisClient } from '../../src/platform/cache/redis.js';

/** A test service with the given background roles running (the projector is in `consumers`). */
export async function startWithRoles(roles: Role[]): Promise<{ t: TestService; stopRoles(): Promise<void> }> {
  const t = await startTestService();
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(15_000);
  const running: RunningRole[] = [];
  for (const role of roles) running.push(await ROLE_STARTERS[role](t.service));
  return {
    t,
    async stopRoles() {
      for (const role of running.splice(0).reverse()) await role.stop();
    },
  };
}



/** How many events the projector applied (the lag histogram's count). */
export async function lagObservations(t: TestService): Promise<number> {
  const { values } = await t.service.metrics.projectionLag.get();
  return values.find((value) => value.metricName === 'projection_lag_seconds_count')?.value ?? 0;
}

/** Messages of the Orders queue that the projector has finished with (applied, duplicate, ignored or dead-lettered). */
export async function projectorDone(t: TestService): Promise<number> {
  const all = await counter(t, 'messages_consumed_total', { queue: 'Orders' });
  return all - (await counter(t, 'messages_consumed_total', { queue: 'Orders', outcome: 'retried' }));
}

export async function createUsers(t: TestService, addressId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const userId = randomUUID();
    await expect204(t.http.post('/api/v1/users').send({ userID: userId, username: `user ${i}`, addressID: addressId }));
    ids.push(userId);
  }
  return ids;
}

/** The user's approved orders as PostgreSQL has them, through GET /api/v1/orders (createdAt, then serialNumber). */
export async function databaseList(t: TestService, userId: string): Promise<OrderJson[]> {
  const res = await t.http.get('/api/v1/orders?limit=1000');
  expect(res.status).toBe(200);
  return (res.body.orders as OrderJson[]).filter((order) => order.client.ClientID === userId);
}

export function envelope(orders: OrderJson[], params: { limit: number; offset: number; order: 'asc' | 'desc' }) {
  const ordered = params.order === 'desc' ? [...orders].reverse() : orders;
  const page = ordered.slice(params.offset, params.offset + params.limit);
  return { orders: page, count: page.length, total: orders.length, ...params };
}

/** A client of the run's Redis (or cluster) without the test's key prefix, for looking at the test's own keys. */
export function rawRedis(): RedisClient {
  return connectTestRedis();
}

/** A projection key's full name: the test's prefix, then the name the service uses (projection-keys.ts). */
export function testKey(t: TestService, name: string): string {
  return `${t.redisPrefix}${name}`;
}

/** The user's projected orders as stored: OrderID -> JSON text. */
export async function projectedDocs(redis: RedisClient, t: TestService, userId: string): Promise<Map<string, string>> {
  const docs = await redis.hvals(testKey(t, projectionKeys.userDocs(userId)));
  return new Map(docs.map((doc) => [(JSON.parse(doc) as OrderJson).OrderID, doc]));
}

/** Deletes every key of this test file (its prefix only: other test files share the Redis server). */
export async function flushTestKeys(t: TestService): Promise<number> {
  return deleteKeysWithPrefix(t.redisPrefix);
}

export interface OutboxEvent {
  eventId: string;
  eventType: string;
  sequence: number;
  body: string;
}

/** The order's outbox rows as the relay would publish them (the saga request, which Orders never receives, left out). */
export async function outboxEvents(t: TestService, orderId: string): Promise<OutboxEvent[]> {
  const client = await connectPg(t.databaseUrl);
  try {
    const { rows } = await client.query(
      `SELECT event_id AS "eventId", event_type AS "eventType", sequence, payload::text AS body
       FROM outbox WHERE aggregate_id = $1 AND event_type <> 'OrderCreateSaga' ORDER BY sequence`,
      [orderId],
    );
    return rows;
  } finally {
    await client.end();
  }
}

export interface RawMessage {
  body: string;
  headers?: Record<string, unknown>;
  messageId?: string;
  /** The user_id property: the service's user (guest) unless given; null for none, as an untrusted publisher. */
  userId?: string | null;
}

/**
 * Publishes straight to the Orders queue through the default exchange as the service's own RabbitMQ user (guest in
 * tests), with user_id set as the relay sets it: the projector applies only what that user published.
 */
export async function publishToOrdersQueue(t: TestService, messages: RawMessage[]): Promise<void> {
  const connection = await amqp.connect(t.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    for (const message of messages) {
      channel.sendToQueue('Orders', Buffer.from(message.body), {
        persistent: true,
        contentType: 'application/json',
        ...(message.userId === null ? {} : { userId: message.userId ?? 'guest' }),
        headers: message.headers ?? {},
        ...(message.messageId ? { messageId: message.messageId } : {}),
      });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

export function asMessage(event: OutboxEvent): RawMessage {
  return { body: event.body, headers: { 'x-event-sequence': event.sequence }, messageId: event.eventId };
}


/** A small seeded generator, so a failing shuffle can be replayed from the seed the test prints. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

export { counter, eventually };

/** Takes every message now in one of the test service's queues (acknowledging them). */
export function drainQueue(t: TestService, queue: string): Promise<GetMessage[]> {
  return drainRabbitQueue(t.amqpUrl, queue);
}
