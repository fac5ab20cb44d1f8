import { createHash } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';

/** Messages remembered at once; the oldest is forgotten first. */
const REMEMBERED = 10_000;
/** The body is fingerprinted from its length and first bytes: enough to tell messages apart, cheap for a huge one. */
const FINGERPRINT_BYTES = 64 * 1024;
/** The header in which a quorum queue says how often it delivered a message before (0 on the first delivery). */
const BROKER_COUNT_HEADER = 'x-delivery-count';

export interface DeliveryCounterOptions {
  /**
   * True on quorum queues: RabbitMQ writes x-delivery-count on every delivery, over whatever a publisher put there
   * (seen on 3.10), so it counts across processes and crashes. On a classic queue the header can only be the
   * publisher's, and a forged one must not dead-letter a message on its first delivery: it is ignored.
   */
  brokerCounts: boolean;
}

/**
 * How many times a message has been delivered: the backstop that bounds any loop the handler and the dead-letter
 * path did not foresee (a channel that keeps closing under a message, a crash while handling it).
 *
 * Quorum queues count deliveries themselves; classic queues only flag a redelivery, so the count is also kept here,
 * per process, for redelivered messages only (a first delivery costs nothing). A message is known by its message id
 * and a fingerprint of its body: two messages that share both are the same message. The larger count wins.
 */
export class DeliveryCounter {
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: DeliveryCounterOptions) {}

  /** Deliveries of this message so far, this one included. */
  count(message: ConsumeMessage): number {
    const fromBroker = this.options.brokerCounts ? brokerCount(message) + 1 : 1;
    if (!message.fields.redelivered) return fromBroker;
    const key = fingerprint(message);
    const count = (this.seen.get(key) ?? 1) + 1;
    // Re-inserting moves the key to the end of the Map's order, so the first key is always the least recent.
    this.seen.delete(key);
    this.seen.set(key, count);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    return Math.max(count, fromBroker);
  }

  /** The message left this consumer for good (acknowledged or dead-lettered). */
  forget(message: ConsumeMessage): void {
    if (message.fields.redelivered) this.seen.delete(fingerprint(message));
  }
}

/** The broker's count of earlier deliveries; 0 when the header is absent or not a count (a broker never sends such). */
function brokerCount(message: ConsumeMessage): number {
  const value: unknown = message.properties.headers?.[BROKER_COUNT_HEADER];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
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
