import type { Options } from 'amqplib';

/** The kinds of queue the topology can be declared with (QUEUE_TYPE). */
export const QUEUE_TYPES = ['quorum', 'classic'] as const;
export type QueueType = (typeof QUEUE_TYPES)[number];

/**
 * Deliveries after which a quorum queue dead-letters a message by itself. Above the consumer's own limit
 * (MAX_DELIVERIES, 10), so that the consumer, which records a reason, acts first; the broker's limit is the
 * backstop for what the consumer never gets to judge (a message that takes the process down with it each time).
 * RabbitMQ delivers a message at most limit + 1 times.
 */
export const BROKER_DELIVERY_LIMIT = 20;

/** How a queue dead-letters, when it does: the exchange, and its own name as the routing key. */
export interface DeadLettering {
  exchange: string;
  routingKey: string;
}

/**
 * The arguments a queue of this type is declared with. RabbitMQ refuses to redeclare a queue with other
 * arguments, so these are the whole truth about a queue of ours: topology.ts declares with them, and
 * queue-type-probe.ts tells a queue's type by which set the broker accepts.
 *
 * Classic: no x-queue-type at all, exactly as queues were declared before QUEUE_TYPE existed, so that the queues
 * of an existing deployment stay equivalent (RabbitMQ takes an absent type as classic).
 * Quorum: replicated (Raft), with a delivery limit where a dead-letter queue takes what it drops, and
 * at-least-once dead-lettering (the message stays in its queue until the dead queue has it; RabbitMQ requires
 * reject-publish overflow for that, which without a length limit never rejects anything). A queue without a
 * dead-letter queue gets no delivery limit: the broker would drop what passes it.
 */
export function queueArguments(type: QueueType, deadLettering: DeadLettering | undefined): Options.AssertQueue {
  const routing = deadLettering ? { deadLetterExchange: deadLettering.exchange, deadLetterRoutingKey: deadLettering.routingKey } : {};
  if (type === 'classic') return { durable: true, ...routing };
  const quorum: Record<string, unknown> = { 'x-queue-type': 'quorum' };
  if (deadLettering) Object.assign(quorum, { 'x-delivery-limit': BROKER_DELIVERY_LIMIT, 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' });
  return { durable: true, ...routing, arguments: quorum };
}

export function otherQueueType(type: QueueType): QueueType {
  return type === 'quorum' ? 'classic' : 'quorum';
}
