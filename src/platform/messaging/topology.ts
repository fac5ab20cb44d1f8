import type { Channel, ChannelModel } from 'amqplib';
import { withTimeout } from '../with-timeout.js';

/** CONTRACT.md's names: other services and people at the management page rely on them. */
export const ORDERS_EXCHANGE = 'Orders';
export const QUEUES = {
  /** The service's own events; the projector consumes it. */
  orders: 'Orders',
  /** Saga requests; the customer service consumes it, not us. */
  orderSaga: 'OrderSaga',
  /** Saga replies; the saga consumer consumes it. */
  customerSaga: 'CustomerSaga',
} as const;

/**
 * Where consumed queues send what can never be handled. A direct exchange: each consumed queue dead-letters
 * with its own name as the routing key (whatever key the message came with), so `<queue>.dead` gets exactly
 * that queue's rejects. A consumer rejects with nack(requeue=false); RabbitMQ adds the x-death header.
 */
export const DEAD_LETTER_EXCHANGE = 'Orders.dead-letters';
export const deadLetterQueue = (queue: string): string => `${queue}.dead`;

export interface QueueSpec {
  name: string;
  bindings: string[];
  /** Consumed by this service, so it gets a dead-letter queue beside it. */
  consumed: boolean;
  /** What it is for, for /asyncapi.json. */
  description: string;
}

// Queue arguments cannot change once a queue exists (RabbitMQ refuses a redeclaration with other arguments),
// so they are chosen here once: classic durable queues, dead-lettering only on the queues we consume.
export const TOPOLOGY: readonly QueueSpec[] = [
  // `Order.*` is one word after "Order.": it takes Order.Create but not Order.Saga.Create, as CONTRACT.md says.
  { name: QUEUES.orders, bindings: ['Order.*'], consumed: true, description: "The service's own events; its projector consumes them to build each user's order list." },
  { name: QUEUES.orderSaga, bindings: ['Order.Saga.*'], consumed: false, description: 'Saga requests, for the customer service to consume and answer.' },
  {
    name: QUEUES.customerSaga,
    bindings: ['Customer.Saga.*'],
    consumed: true,
    description: "The customer service's answers; the service's saga consumer reads them. Reachable through Orders with any Customer.Saga.* key, or by name through the default exchange.",
  },
];

/** The dead-letter queues, one beside each queue the service consumes. */
export const DEAD_LETTER_QUEUES: readonly string[] = TOPOLOGY.filter((queue) => queue.consumed).map((queue) => deadLetterQueue(queue.name));

/**
 * Declares the exchanges, queues and bindings. Idempotent: it runs on every (re)connection before any other
 * hook, so publishers and consumers never see a missing queue after a broker lost its definitions. A queue
 * that exists with other arguments fails the connection loudly rather than being silently left as it is.
 */
export function declareTopology(model: ChannelModel, timeoutMs: number): Promise<void> {
  return withTimeout(declare(model), timeoutMs, 'declaring the RabbitMQ topology');
}

async function declare(model: ChannelModel): Promise<void> {
  const channel = await model.createChannel();
  // A refused declaration closes the channel; the failed call reports it, the event must not reach the connection.
  channel.on('error', () => undefined);
  try {
    await channel.assertExchange(ORDERS_EXCHANGE, 'topic', { durable: true });
    await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
    for (const queue of TOPOLOGY) {
      await channel.assertQueue(queue.name, {
        durable: true,
        ...(queue.consumed ? { deadLetterExchange: DEAD_LETTER_EXCHANGE, deadLetterRoutingKey: queue.name } : {}),
      });
      for (const pattern of queue.bindings) await channel.bindQueue(queue.name, ORDERS_EXCHANGE, pattern);
      if (queue.consumed) await declareDeadLetterQueue(channel, queue.name);
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/**
 * Declares `<queue>.dead` and binds it to the dead-letter exchange. Also used by a consumer that finds it missing
 * (deleted by hand while the service runs): without it the broker's own dead-lettering would drop messages.
 */
export async function declareDeadLetterQueue(channel: Channel, queue: string): Promise<void> {
  const dead = deadLetterQueue(queue);
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await channel.assertQueue(dead, { durable: true });
  await channel.bindQueue(dead, DEAD_LETTER_EXCHANGE, queue);
}
