import { createHash } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';

/** Messages remembered at once; the oldest is forgotten first. */
const REMEMBERED = 10_000;
/** The body is fingerprinted from its length and first bytes: enough to tell messages apart, cheap for a huge one. */
const FINGERPRINT_BYTES = 64 * 1024;

/**
 * How many times this process has seen a message delivered: the backstop that bounds any loop the handler and the
 * dead-letter path did not foresee (a channel that keeps closing under a message, a crash while handling it).
 *
 * Quorum queues count deliveries themselves (header x-delivery-count); classic queues only flag a redelivery, so
 * the count is kept here, per process, for redelivered messages only (a first delivery costs nothing). A message is
 * known by its message id and a fingerprint of its body: two messages that share both are the same message.
 */
export class DeliveryCounter {
  private readonly seen = new Map<string, number>();

  /** Deliveries of this message so far, this one included. */
  count(message: ConsumeMessage): number {
    const fromBroker = Number(message.properties.headers?.['x-delivery-count'] ?? 0);
    if (!message.fields.redelivered) return Math.max(1, fromBroker + 1);
    const key = fingerprint(message);
    const count = (this.seen.get(key) ?? 1) + 1;
    // Re-inserting moves the key to the end of the Map's order, so the first key is always the least recent.
    this.seen.delete(key);
    this.seen.set(key, count);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    return Math.max(count, Number.isFinite(fromBroker) ? fromBroker + 1 : 0);
  }

  /** The message left this consumer for good (acknowledged or dead-lettered). */
  forget(message: ConsumeMessage): void {
    if (message.fields.redelivered) this.seen.delete(fingerprint(message));
  }
}

function fingerprint(message: ConsumeMessage): string {
  const body = message.content;
  return createHash('sha256')
    .update(String(message.properties.messageId ?? ''))
    .update('\0')
    .update(String(body.length))
    .update(body.subarray(0, FINGERPRINT_BYTES))
    .digest('base64');
}
