import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import type { TestService } from './service.js';
import { connectPg } from './database.js';
import { expect204, orderBody, seedCatalog } from './fixtures.js';
import { eventually } from './polling.js';


/** Starts the relay, consumers and scheduler roles of a test service; returns a function that stops them. */
export async function startBackgroundRoles(t: TestService): Promise<() => Promise<void>> {
  await t.service.rabbit.start();
  const running: RunningRole[] = [];
  for (const role of ['relay', 'consumers', 'scheduler'] as const) running.push(await ROLE_STARTERS[role](t.service));
  await t.service.rabbit.waitForConnection(15_000);
  return async () => {
    for (const role of running.reverse()) await role.stop();
  };
}

/** Publishes a saga reply (or any body) on CustomerSaga through the default exchange, as a person would. */
export async function publishReply(t: TestService, body: string | object, properties: amqp.Options.Publish = {}): Promise<void> {
  return publishReplyTo(t.amqpUrl, body, properties);
}

/** The same on the broker (and vhost) of this URL. */
export async function publishReplyTo(amqpUrl: string, body: string | object, properties: amqp.Options.Publish = {}): Promise<void> {
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createConfirmChannel();
  channel.sendToQueue('CustomerSaga', Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { persistent: true, ...properties });
  await channel.waitForConfirms();
  await connection.close();
}

/**
 * A short run through every path an operator watches: orders approved, rejected and timed out, a deletion,
 * reads from PostgreSQL and the projection, a poison reply and an unroutable outbox row.
 */
export async function runShortWorkload(t: TestService): Promise<{ userId: string; stop: () => Promise<void> }> {
  const stop = await startBackgroundRoles(t);
  const catalog = await seedCatalog(t, 2, [100, 9.99]);
  const orders = [orderBody(catalog), orderBody(catalog), orderBody(catalog), orderBody(catalog)];
  for (const body of orders) await expect204(t.http.post('/api/v1/orders').send(body));
  const [approved, rejected, timedOut, deleted] = orders.map((o) => o.orderID);
  await publishReply(t, { orderID: approved, orderType: 'Approved' });
  await publishReply(t, { orderID: deleted, orderType: 'Approved' });
  await publishReply(t, { orderID: rejected, orderType: 'Rejected' });
  await publishReply(t, 'not json at all', { messageId: randomUUID() });

  const client = await connectPg(t.databaseUrl);
  try {
    const sagaStatus = async (id: string) => (await client.query('SELECT saga_status FROM orders WHERE id = $1', [id])).rows[0]?.saga_status;
    await eventually('approval', async () => (await sagaStatus(deleted!)) === 'Approved');
    await expect204(t.http.delete(`/api/v1/orders/${deleted}`));
    await eventually('saga timeout', async () => (await sagaStatus(timedOut!)) === 'TimedOut');
    await eventually('rejection', async () => (await sagaStatus(rejected!)) === 'Rejected');
    await client.query(
      `INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, status, ready_at)
       VALUES ($1, $2, 1, 'NoSuchExchange', 'Order.Create', 'OrderCreated', '{}', 'Ready', now())`,
      [randomUUID(), randomUUID()],
    );
    await eventually('a publish failure', async () => /outbox_publish_failures_total\{/.test((await t.http.get('/metrics')).text));
    await eventually(
      'the outbox to drain',
      async () => (await client.query(`SELECT count(*)::int AS n FROM outbox WHERE status = 'Ready' AND exchange = 'Orders'`)).rows[0].n === 0,
    );
  } finally {
    await client.end();
  }
  await eventually('the projection', async () => (await t.http.get(`/api/v1/orders/user/${catalog.userId}`)).body.count === 1);
  await t.http.get('/api/v1/orders');
  await t.http.get('/api/v1/products?limit=abc');
  return { userId: catalog.userId, stop };
}

export { eventually };
