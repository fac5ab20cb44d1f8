import amqp, { type ConsumeMessage, type GetMessage } from 'amqplib';
import type pg from 'pg';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { placeOrder, seedCatalog, type Catalog } from '../support/fixtures.js';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import { counter, eventually } from '../support/polling.js';
import { failOn, publishedProblems } from '../support/message-validation.js';

/** A test service with the background roles of the saga running: relay, consumers and scheduler. */
export interface SagaHarness {
  t: TestService;
  catalog: Catalog;
  db: pg.Client;
  events: EventLog;
  /** Creates an order through HTTP and waits until its saga request was published. */
  createOrder(over?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startSagaHarness(env: Record<string, string> = {}, options: Parameters<typeof startTestService>[1] = {}): Promise<SagaHarness> {
  const t = await startTestService(env, options);
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(15_000);
  const running: RunningRole[] = [];
  for (const role of ['relay', 'consumers', 'scheduler'] as const) running.push(await ROLE_STARTERS[role](t.service));
  const events = await observeEvents(t.amqpUrl);
  const db = await connectPg(t.databaseUrl);
  const catalog = await seedCatalog(t, 2, [100, 9.99]);
  const harness: SagaHarness = {
    t,
    catalog,
    db,
    events,
    async createOrder(over = {}) {
      const orderId = await placeOrder(t, catalog, over);
      await eventually('the saga request to be published', async () => events.of(orderId).some((e) => e.eventType === 'OrderCreateSaga'));
      return orderId;
    },
    async close() {
      for (const role of running.reverse()) await role.stop();
      try {
        // Fails if an event the service published is not as /asyncapi.json says.
        await events.close();
      } finally {
        // The current client: a test that lost its connection on purpose puts a new one here.
        await harness.db.end().catch(() => undefined);
        await t.close();
      }
    },
  };
  return harness;
}

export interface ObservedEvent {
  eventType: string;
  eventID: string;
  orderID: string;
  routingKey: string;
  body: Record<string, unknown>;
}

export interface EventLog {
  /** Every delivery for the order, duplicates included, in the order the broker delivered them. */
  of(orderId: string): ObservedEvent[];
  close(): Promise<void>;
}

/**
 * Every event the service published to the Orders exchange, seen through a queue of the test's own bound with
 * `Order.#` (saga replies published there with Customer.Saga.* keys are not events): the service's queues are
 * consumed by the service (Orders by the projector), so counting there would race it.
 */
async function observeEvents(amqpUrl: string): Promise<EventLog> {
  const all: ObservedEvent[] = [];
  const problems: string[] = [];
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, 'Orders', 'Order.#');
  await channel.consume(
    queue,
    (message: ConsumeMessage | null) => {
      if (!message) return;
      problems.push(...publishedProblems(message, amqpUrl));
      const body = JSON.parse(message.content.toString('utf8')) as Record<string, unknown>;
      all.push({ eventType: String(body.eventType), eventID: String(body.eventID), orderID: String(body.orderID), routingKey: message.fields.routingKey, body });
    },
    { noAck: true },
  );
  return {
    of: (orderId) => {
      failOn(problems);
      return all.filter((event) => event.orderID === orderId);
    },
    close: async () => {
      await connection.close().catch(() => undefined);
      failOn(problems);
    },
  };
}

/** Publishes a reply on CustomerSaga: by name through the default exchange, or through Orders with a routing key. */
export async function publishReplies(
  amqpUrl: string,
  replies: { body: string | object; messageId?: string; routingKey?: string }[],
): Promise<void> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    for (const reply of replies) {
      const content = Buffer.from(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
      const options = { persistent: true, contentType: 'application/json', ...(reply.messageId ? { messageId: reply.messageId } : {}) };
      if (reply.routingKey) channel.publish('Orders', reply.routingKey, content, options);
      else channel.sendToQueue('CustomerSaga', content, options);
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}




export async function sagaStatus(db: pg.Client, orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ saga_status: string }>('SELECT saga_status FROM orders WHERE id = $1', [orderId]);
  return rows[0]?.saga_status;
}

export async function outboxRows(db: pg.Client, orderId: string): Promise<{ event_type: string; status: string; event_id: string }[]> {
  const { rows } = await db.query('SELECT event_type, status, event_id FROM outbox WHERE aggregate_id = $1 ORDER BY sequence', [orderId]);
  return rows;
}

/** Waits until every row of the order that will ever be published was published and seen by the observer. */
export async function settled(h: SagaHarness, orderId: string): Promise<void> {
  await eventually(`the outbox of ${orderId} to drain and its events to arrive`, async () => {
    const rows = await outboxRows(h.db, orderId);
    if (rows.some((row) => row.status === 'Ready' || row.status === 'Sagas')) return false;
    const seen = new Set(h.events.of(orderId).map((event) => event.eventID));
    return rows.filter((row) => row.status === 'Published').every((row) => seen.has(row.event_id));
  });
}

export { counter, eventually };
export { drainQueue } from '../support/rabbitmq.js';
