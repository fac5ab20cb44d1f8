import type { Channel, ChannelModel } from 'amqplib';
import { withTimeout } from '../with-timeout.js';
import { QUEUE_TYPES, type QueueType } from './queue-type.js';
import type { ContractQueue } from './topology.js';

/** What a queue of ours is: one of the two types with exactly our arguments, missing, or something else. */
export type ProbedType = QueueType | 'missing' | 'other';

/**
 * Tells a queue's type over AMQP alone (the management plugin may be off): a passive declare says whether it
 * exists, then a declare with each type's exact arguments says which one RabbitMQ finds equivalent. Such a declare
 * changes nothing on a queue that exists, and a refusal closes only the throwaway channel it was made on.
 * 'other': it exists, but with arguments that neither type of ours has (declared by hand, or by another version).
 */
export async function probeQueueType(model: ChannelModel, queue: ContractQueue, timeoutMs: number): Promise<ProbedType> {
  if (!(await attempt(model, timeoutMs, (channel) => channel.checkQueue(queue.name)))) return 'missing';
  for (const type of QUEUE_TYPES) {
    if (await attempt(model, timeoutMs, (channel) => channel.assertQueue(queue.name, queue.arguments(type)))) return type;
  }
  return 'other';
}

/** True when the broker accepted the operation; false when it refused it (404, 406); other failures throw. */
async function attempt(model: ChannelModel, timeoutMs: number, operation: (channel: Channel) => Promise<unknown>): Promise<boolean> {
  const channel = await withTimeout(model.createChannel(), timeoutMs, 'opening a channel');
  channel.on('error', () => undefined);
  try {
    await withTimeout(operation(channel), timeoutMs, 'declaring a queue');
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 404 || code === 406) return false;
    throw error;
  } finally {
    await channel.close().catch(() => undefined);
  }
}
