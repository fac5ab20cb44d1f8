import type { Channel, ChannelModel } from 'amqplib';
import { withTimeout } from '../with-timeout.js';
import { queueArguments, type QueueType } from './queue-type.js';
import { probeQueueType } from './queue-type-probe.js';

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
// so they are chosen in one place (queue-type.ts), by QUEUE_TYPE; dead-lettering only on the queues we consume.
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

/** Every queue of the contract, live and dead-letter, as one declares it: its arguments by type and its bindings. */
export interface ContractQueue {
  name: string;
  arguments(type: QueueType): ReturnType<typeof queueArguments>;
  bindings: { exchange: string; pattern: string }[];
}

export const CONTRACT_QUEUES: readonly ContractQueue[] = [
  ...TOPOLOGY.map((queue) => ({
    name: queue.name,
    arguments: (type: QueueType) => queueArguments(type, queue.consumed ? { exchange: DEAD_LETTER_EXCHANGE, routingKey: queue.name } : undefined),
    bindings: queue.bindings.map((pattern) => ({ exchange: ORDERS_EXCHANGE, pattern })),
  })),
  ...TOPOLOGY.filter((queue) => queue.consumed).map((queue) => ({
    name: deadLetterQueue(queue.name),
    arguments: (type: QueueType) => queueArguments(type, undefined),
    bindings: [{ exchange: DEAD_LETTER_EXCHANGE, pattern: queue.name }],
  })),
];

/** A queue of the contract that exists with the other type: the service must not run against it. */
export interface QueueTypeMismatch {
  queue: string;
  found: QueueType;
  wanted: QueueType;
}

export type TopologyOutcome = { ok: true } | { ok: false; mismatch: QueueTypeMismatch };

/** The one sentence the service stops with when a queue has the other type. */
export function mismatchSentence({ queue, found, wanted }: QueueTypeMismatch): string {
  return `RabbitMQ queue ${queue} is a ${found} queue but QUEUE_TYPE is ${wanted}: the service will not start until \`npm run topology -- migrate\` has moved its messages to ${wanted} queues (or QUEUE_TYPE is set to ${found}).`;
}

/**
 * Declares the exchanges, queues and bindings. Idempotent: it runs on every (re)connection before any other
 * hook, so publishers and consumers never see a missing queue after a broker lost its definitions. A queue of the
 * other type is an outcome (the caller refuses to run); one that exists with other arguments fails loudly.
 */
export function declareTopology(model: ChannelModel, timeoutMs: number, type: QueueType): Promise<TopologyOutcome> {
  return withTimeout(declare(model, timeoutMs, type), timeoutMs, 'declaring the RabbitMQ topology');
}

async function declare(model: ChannelModel, timeoutMs: number, type: QueueType): Promise<TopologyOutcome> {
  const channel = await model.createChannel();
  // A refused declaration closes the channel; the failed call reports it, the event must not reach the connection.
  channel.on('error', () => undefined);
  try {
    await channel.assertExchange(ORDERS_EXCHANGE, 'topic', { durable: true });
    await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
    for (const queue of CONTRACT_QUEUES) {
      const refused = await declareQueue(channel, queue, type).catch((error: unknown) => error);
      if (refused === undefined) continue;
      const mismatch = await typeMismatch(model, queue, type, timeoutMs);
      if (mismatch) return { ok: false, mismatch };
      throw refused;
    }
    return { ok: true };
  } finally {
    await channel.close().catch(() => undefined);
  }
}

async function declareQueue(channel: Channel, queue: ContractQueue, type: QueueType): Promise<undefined> {
  await channel.assertQueue(queue.name, queue.arguments(type));
  for (const { exchange, pattern } of queue.bindings) await channel.bindQueue(queue.name, exchange, pattern);
  return undefined;
}

/** After a refused declaration (406, which closed the channel): is it because the queue has the other type? */
async function typeMismatch(model: ChannelModel, queue: ContractQueue, wanted: QueueType, timeoutMs: number): Promise<QueueTypeMismatch | undefined> {
  const found = await probeQueueType(model, queue, timeoutMs).catch(() => undefined);
  return found === 'quorum' || found === 'classic' ? (found === wanted ? undefined : { queue: queue.name, found, wanted }) : undefined;
}

/**
 * Declares `<queue>.dead` and binds it to the dead-letter exchange. Also used by a consumer that finds it missing
 * (deleted by hand while the service runs): without it the broker's own dead-lettering would drop messages.
 */
export async function declareDeadLetterQueue(channel: Channel, queue: string, type: QueueType): Promise<void> {
  const dead = CONTRACT_QUEUES.find((candidate) => candidate.name === deadLetterQueue(queue));
  if (!dead) throw new Error(`${queue} has no dead-letter queue in the topology`);
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await declareQueue(channel, dead, type);
}
