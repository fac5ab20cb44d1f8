/**
 * The saga round trip's floor (bench/saga-round-trip.ts forks this file): the same hops as the service's saga,
 * done by bare code in one process, with the same customer-service simulator on the other side.
 * POST -> create inserts (raw pg, bench/support/raw-order.ts) -> 204 -> publish the saga request (no outbox
 * relay); CustomerSaga reply -> approve in one transaction (inbox row, order status, held rows -> Ready) ->
 * publish the released events; Orders -> on OrderCreated, mark the order listed in Redis (the field the
 * benchmark's projection watch polls). Publishes wait for confirms; messages are acked after their work.
 * Environment: BENCH_DATABASE_URL, BENCH_AMQP_URL, BENCH_PREFIX (Redis keys), BENCH_PRODUCTS (JSON), BENCH_REDIS_URL.
 */
import amqp, { type ConfirmChannel } from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { declareTopology, ORDERS_EXCHANGE, QUEUES } from '../../src/platform/messaging/topology.js';
import { projectionKeys } from '../../src/orders/projection/projection-keys.js';
import { floorOrdersApp } from './floor-orders-app.js';
import type { FloorEvent, FloorProduct } from './raw-order.js';
import { sagaReplyInboxKey } from '../../src/orders/saga/saga-reply.js';
import { serveToParent } from './serve-to-parent.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

await serveFloor();

async function serveFloor(): Promise<void> {
  const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 10 });
  const redis = new Redis(REDIS_URL, { keyPrefix: process.env.BENCH_PREFIX! });
  const products = new Map((JSON.parse(process.env.BENCH_PRODUCTS!) as FloorProduct[]).map((product) => [product.id, product]));
  // Nagle's algorithm off, as a latency-minded bare client would have it (amqplib leaves it on unless told).
  const connection = await amqp.connect(process.env.BENCH_AMQP_URL!, { noDelay: true });
  // The service's default QUEUE_TYPE: the floor measures against the queues the service declares.
  await declareTopology(connection, 10_000, 'quorum');
  const publisher = await connection.createConfirmChannel();
  const publish = (channel: ConfirmChannel, event: Pick<FloorEvent, 'eventId' | 'eventType' | 'routingKey' | 'body'>, correlationId: string) =>
    new Promise<void>((resolve, reject) =>
      channel.publish(ORDERS_EXCHANGE, event.routingKey, Buffer.from(JSON.stringify(event.body)), {
        persistent: true,
        contentType: 'application/json',
        messageId: event.eventId,
        type: event.eventType,
        headers: { 'x-correlation-id': correlationId },
      }, (error: unknown) => (error ? reject(error) : resolve())),
    );

  const replies = await connection.createChannel();
  await replies.prefetch(32);
  await replies.consume(QUEUES.customerSaga, (message) => {
    if (!message) return;
    void (async () => {
      const { orderID } = JSON.parse(message.content.toString()) as { orderID: string };
      const client = await pool.connect();
      let released: { routing_key: string; event_type: string; event_id: string; payload: Record<string, unknown>; sequence: number }[];
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO inbox (consumer, message_id, payload_digest) VALUES ('saga-reply', $1, $2) ON CONFLICT DO NOTHING`,
          [message.properties.messageId, sagaReplyInboxKey(message.properties.messageId, { orderId: orderID, decision: 'Approved' })!.payloadDigest],
        );
        await client.query(`UPDATE orders SET saga_status = 'Approved', saga_ended_at = now() WHERE id = $1 AND saga_status = 'Pending'`, [orderID]);
        ({ rows: released } = await client.query(
          `UPDATE outbox SET status = 'Ready', ready_at = now() WHERE aggregate_id = $1 AND status = 'Sagas'
           RETURNING routing_key, event_type, event_id, payload, sequence`,
          [orderID],
        ));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      released.sort((a, b) => a.sequence - b.sequence);
      // Issued in sequence order on one channel, so they arrive in that order; then wait for every confirm.
      await Promise.all(released.map((row) => publish(publisher, { eventId: row.event_id, eventType: row.event_type, routingKey: row.routing_key, body: row.payload }, orderID)));
      replies.ack(message);
    })().catch((error) => console.error('floor: saga reply failed', error));
  });

  const events = await connection.createChannel();
  await events.prefetch(64);
  await events.consume(QUEUES.orders, (message) => {
    if (!message) return;
    const body = JSON.parse(message.content.toString()) as { eventType: string; orderID: string; client?: { clientID: string } };
    if (body.eventType !== 'OrderCreated') return events.ack(message);
    void redis.hset(projectionKeys.order(body.client!.clientID, body.orderID), 'vis', '1').then(() => events.ack(message));
  });

  const app = floorOrdersApp(pool, products, (written, correlationId) =>
    publish(publisher, written[0]!, correlationId).catch((error) => console.error('floor: publish failed', error)),
  );
  await serveToParent(app, async () => {
    await connection.close().catch(() => undefined);
    redis.disconnect();
    await pool.end();
  });
}
