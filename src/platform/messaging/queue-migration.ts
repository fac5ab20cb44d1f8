import type { Channel, ChannelModel } from 'amqplib';
import { withTimeout } from '../with-timeout.js';
import { moveMessages, type MoveContext } from './message-move.js';
import { queueArguments, type QueueType } from './queue-type.js';
import { probeQueueType, type ProbedType } from './queue-type-probe.js';
import { DEAD_LETTER_EXCHANGE, ORDERS_EXCHANGE, type ContractQueue } from './topology.js';

/** Where a queue's messages wait while the queue itself is deleted and declared again with the new type. */
export const holdingQueue = (queue: string): string => `${queue}.migrating`;

export interface QueueMigration {
  queue: string;
  from: ProbedType;
  to: QueueType;
  /** Messages of the queue (and of its holding queue, when a run was interrupted) before, and in it after. */
  before: number;
  moved: number;
  after: number;
  userIdsMoved: number;
}

/**
 * Gives one queue of the contract the type `to`, with its messages:
 *
 * 1. the queue has the old type: its messages move to `<queue>.migrating` (of the new type, no bindings);
 * 2. the queue, then empty, is deleted (only if empty) and declared again with the new type and its bindings;
 * 3. the messages move back; the holding queue is deleted (only if empty).
 *
 * Each step is found again from what the broker holds, so a run that was stopped anywhere picks up where it was:
 * old type -> step 1; missing (stopped between delete and declare) -> step 2; new type with a holding queue ->
 * step 3; new type without one -> nothing to do. Moves are exact even when killed (message-move.ts).
 */
export async function migrateQueue(context: MoveContext, queue: ContractQueue, to: QueueType): Promise<QueueMigration> {
  const { model, timeoutMs } = context;
  const holding = holdingQueue(queue.name);
  const from = await probeQueueType(model, queue, timeoutMs);
  const holdingExists = (await count(model, holding, timeoutMs)) !== undefined;
  if (from === 'other') throw new Error(`queue ${queue.name} exists with arguments of neither type; compare it with src/platform/messaging/queue-type.ts before migrating`);
  const before = ((await count(model, queue.name, timeoutMs)) ?? 0) + ((await count(model, holding, timeoutMs)) ?? 0);
  const result: QueueMigration = { queue: queue.name, from, to, before, moved: 0, after: 0, userIdsMoved: 0 };
  if (from === to && !holdingExists) {
    result.after = before;
    return result;
  }
  await refuseWhileConsumed(model, queue.name, timeoutMs);
  if (from !== to && from !== 'missing') {
    await declare(model, timeoutMs, (channel) => channel.assertQueue(holding, queueArguments(to, undefined)));
    result.userIdsMoved += (await moveMessages(context, queue.name, holding)).userIdsMoved;
    await deleteEmpty(model, queue.name, from, timeoutMs);
  }
  await declare(model, timeoutMs, async (channel) => {
    await channel.assertExchange(ORDERS_EXCHANGE, 'topic', { durable: true });
    await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
    await channel.assertQueue(queue.name, queue.arguments(to));
    for (const { exchange, pattern } of queue.bindings) await channel.bindQueue(queue.name, exchange, pattern);
  });
  if ((await count(model, holding, timeoutMs)) !== undefined) {
    const back = await moveMessages(context, holding, queue.name);
    result.moved = back.moved;
    result.userIdsMoved += back.userIdsMoved;
    await deleteEmpty(model, holding, to, timeoutMs);
  }
  result.after = (await count(model, queue.name, timeoutMs)) ?? 0;
  return result;
}

/** Messages ready in a queue; undefined when it does not exist. */
export async function count(model: ChannelModel, queue: string, timeoutMs: number): Promise<number | undefined> {
  return (await inspect(model, queue, timeoutMs))?.messageCount;
}

/** A queue's ready messages and consumers (passive declare); undefined when it does not exist. */
export async function inspect(model: ChannelModel, queue: string, timeoutMs: number): Promise<{ messageCount: number; consumerCount: number } | undefined> {
  try {
    return await declare(model, timeoutMs, (channel) => channel.checkQueue(queue));
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return undefined;
    throw error;
  }
}

/**
 * Deletes a queue that was just emptied. Classic queues let the broker check that it is still empty; quorum queues
 * do not support if-empty (RabbitMQ closes the connection), so it is checked just before: with publishers stopped,
 * as migrating requires, nothing arrives in between.
 */
async function deleteEmpty(model: ChannelModel, queue: string, type: QueueType, timeoutMs: number): Promise<void> {
  const left = await count(model, queue, timeoutMs);
  if (left !== undefined && left > 0) throw new Error(`queue ${queue} received ${left} message(s) while being emptied: something publishes to it; stop it and run migrate again`);
  await declare(model, timeoutMs, (channel) => channel.deleteQueue(queue, type === 'classic' ? { ifEmpty: true } : {}));
}

/** A consumer would take messages from under the move, and a service of the old type would keep declaring it. */
async function refuseWhileConsumed(model: ChannelModel, queue: string, timeoutMs: number): Promise<void> {
  const consumers = (await inspect(model, queue, timeoutMs))?.consumerCount ?? 0;
  if (consumers > 0) throw new Error(`queue ${queue} has ${consumers} consumer(s): stop every process of the order service and the customer service first`);
}

/** One operation on a throwaway channel: a refusal closes that channel only. */
async function declare<T>(model: ChannelModel, timeoutMs: number, operation: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await withTimeout(model.createChannel(), timeoutMs, 'opening a channel');
  channel.on('error', () => undefined);
  try {
    return await withTimeout(operation(channel), timeoutMs, 'a queue operation');
  } finally {
    await channel.close().catch(() => undefined);
  }
}
