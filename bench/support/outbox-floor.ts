/**
 * The like-for-like floor of the whole saga chain (bench/saga-capacity.ts forks this file): the durable work the
 * service does per order, written bare (raw pg, amqplib, ioredis, a bare Express route; no mediator, no Prisma,
 * no validation), in one process with every role, as the service runs with ROLES=all.
 *
 *   POST: BEGIN; order; lines; outbox rows (saga request Ready, the rest held as 'Sagas'); COMMIT; 204;
 *         then an in-process wake-up of the relay (the service's in-process signal does the same).
 *   relay: BEGIN; claim Ready rows (FOR UPDATE SKIP LOCKED, oldest first); publish each with confirms, in id
 *         order on one channel; mark them Published; COMMIT. Two batches in flight (as the service's relay),
 *         woken per commit, 1 s sweep. An order's rows stay in sequence unless a claim's limit cuts a run
 *         between two batches: a floor may take that risk, the service's claim (heads and runs) does not.
 *   approval (CustomerSaga): BEGIN; inbox row; order Pending -> Approved; reply log row; held rows -> Ready;
 *         COMMIT; wake the relay; ack.
 *   projector (Orders): one MULTI per event (a line into the order's hash; OrderCreated: the user's index and
 *         doc and the order's `vis` field, which the benchmark polls); ack after it.
 *
 * What it leaves out, and the service must do: reads and checks (user, address, products, idempotency
 * fingerprint), per-order sequencing with several relays (the service's claim takes each order's head and its
 * run; this one relies on being the only relay), retries, parking, dead-lettering, traces, metrics and logs.
 * Environment: BENCH_DATABASE_URL, BENCH_AMQP_URL, BENCH_PREFIX (Redis keys), BENCH_PRODUCTS (JSON),
 * BENCH_REDIS_URL, BENCH_POOL_SIZE (10, the service's default DATABASE_POOL_SIZE), BENCH_RELAY_BATCH (500),
 * BENCH_FLOOR_IN_ORDER (1: the relay publishes each order's rows one confirm after another, as the service
 * promises, instead of one wave; see bare-relay.ts).
 */
import amqp, { type ConsumeMessage } from 'amqplib';
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { declareTopology, QUEUES } from '../../src/platform/messaging/topology.js';
import { projectionKeys } from '../../src/orders/projection/projection-keys.js';
import { bareRelay } from './bare-relay.js';
import { floorOrdersApp } from './floor-orders-app.js';
import type { FloorProduct } from './raw-order.js';
import { sagaReplyInboxKey } from '../../src/orders/saga/saga-reply.js';
import { serveToParent } from './serve-to-parent.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BATCH = Number(process.env.BENCH_RELAY_BATCH ?? 500);

// Idle connections kept 30 s, as the service's pool keeps them (src/platform/database/database.ts).
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: Number(process.env.BENCH_POOL_SIZE ?? 10), idleTimeoutMillis: 30_000 });
const redis = new Redis(REDIS_URL, { keyPrefix: process.env.BENCH_PREFIX! });
const products = new Map((JSON.parse(process.env.BENCH_PRODUCTS!) as FloorProduct[]).map((product) => [product.id, product]));
const connection = await amqp.connect(process.env.BENCH_AMQP_URL!, { noDelay: true });
await declareTopology(connection, 10_000, 'quorum');
const relay = bareRelay(pool, await connection.createConfirmChannel(), BATCH, { inOrder: process.env.BENCH_FLOOR_IN_ORDER === '1' });
await consumeApprovals();
await consumeProjection();
await serveToParent(createApp(), async () => {
  await relay.stop();
  await connection.close().catch(() => undefined);
  redis.disconnect();
  await pool.end();
});

/** The customer service's answer: approve in one transaction, release the held rows, wake the relay, ack. */
async function consumeApprovals(): Promise<void> {
  const channel = await connection.createChannel();
  await channel.prefetch(32);
  await channel.consume(QUEUES.customerSaga, (message) => {
    if (message) void approve(message).then(() => channel.ack(message), (error) => console.error('floor: approval failed', error));
  });
}

async function approve(message: ConsumeMessage): Promise<void> {
  const { orderID } = JSON.parse(message.content.toString()) as { orderID: string };
  const messageId = message.properties.messageId as string;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inbox = await client.query(
      `INSERT INTO inbox (consumer, message_id, payload_digest) VALUES ('saga-reply', $1, $2) ON CONFLICT DO NOTHING`,
      [messageId, sagaReplyInboxKey(messageId, { orderId: orderID, decision: 'Approved' })!.payloadDigest],
    );
    if (inbox.rowCount === 1) {
      const approved = await client.query(`UPDATE orders SET saga_status = 'Approved', saga_ended_at = now() WHERE id = $1 AND saga_status = 'Pending'`, [orderID]);
      await client.query(
        `INSERT INTO saga_replies (order_id, message_id, decision, outcome) VALUES ($1, $2, 'Approved', $3)`,
        [orderID, messageId, approved.rowCount === 1 ? 'applied' : 'ignored'],
      );
      if (approved.rowCount === 1) await client.query(`UPDATE outbox SET status = 'Ready', ready_at = now() WHERE aggregate_id = $1 AND status = 'Sagas'`, [orderID]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  relay.wake();
}

/** The order's events into Redis: one MULTI per event, acked after it. */
async function consumeProjection(): Promise<void> {
  const channel = await connection.createChannel();
  await channel.prefetch(64);
  await channel.consume(QUEUES.orders, (message) => {
    if (!message) return;
    const body = JSON.parse(message.content.toString()) as { eventType: string; orderID: string; clientID?: string; client?: { clientID: string }; serialNumber?: number };
    const sequence = Number(message.properties.headers?.['x-event-sequence'] ?? 0);
    // Every event of the bench's approved orders names its user (clientID, or client.clientID in OrderCreated).
    const userId = body.clientID ?? body.client!.clientID;
    const order = projectionKeys.order(userId, body.orderID);
    const multi = redis.multi();
    if (body.eventType === 'OrderCreated') {
      const member = String(body.serialNumber).padStart(16, '0');
      multi.zadd(projectionKeys.userIndex(userId), Date.now(), member).hset(projectionKeys.userDocs(userId), member, message.content).hset(order, 'vis', '1', 'v', sequence);
    } else {
      multi.hset(order, `line:${sequence}`, message.content, 'v', sequence);
    }
    void multi.exec().then(() => channel.ack(message), (error) => console.error('floor: projection failed', error));
  });
}

function createApp(): express.Express {
  return floorOrdersApp(pool, products, () => relay.wake());
}
