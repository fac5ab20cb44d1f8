import { createHash } from 'node:crypto';
import type { ChannelModel, GetMessage, Options } from 'amqplib';
import { withTimeout } from '../with-timeout.js';
import { DEAD_LETTER_HEADERS, ORIGINAL_PROPERTY_HEADERS, isDeadLetterHeader, isRoutingHeader } from './dead-letter-copy.js';
import { TOPOLOGY } from './topology.js';

/** One message in a dead-letter queue, as the operator sees it. */
export interface DeadLetter {
  /** The copy's x-dead-letter-id, or for a message the broker dead-lettered itself a digest of it. */
  id: string;
  deadQueue: string;
  /** The queue it came from, where a replay sends it: the dead queue's name says (`<queue>.dead`), never a header. */
  originalQueue: string;
  /**
   * A copy the service made (its user_id is the service's, which the broker vouches for): only then are its
   * x-dead-letter-* and x-original-* headers the service's own. Anyone may publish a message carrying such headers,
   * and a message the broker dead-lettered keeps every header its sender set.
   */
  serviceCopy: boolean;
  /**
   * The service's reason, or the broker's (`rejected`) for a message rejected onto the dead-letter exchange; but
   * `too_large` for such a message whose body is over the limit (see reasonInferred).
   */
  reason: string;
  /** Why the reason was inferred rather than read from a header, when it was. */
  reasonInferred: string | undefined;
  deadLetteredAt: Date | undefined;
  messageId: string | undefined;
  bytes: number;
  message: GetMessage;
}

/** The most messages one command looks at in one queue: the rest stay where they are. */
export const BROWSE_LIMIT = 10_000;

export interface BrowseLimits {
  /** Bounds each call to the broker. */
  timeoutMs: number;
  /** The consumers' MAX_MESSAGE_BYTES: a body over it was dead-lettered as too_large (see inferredReason). */
  maxMessageBytes: number;
  /** The consumers' RabbitMQ user, the user_id of the copies they make (see DeadLetter.serviceCopy). */
  serviceUser: string;
}

/** The queues the service consumes: only their consumers reject messages onto the dead-letter exchange. */
const CONSUMED_QUEUES: readonly string[] = TOPOLOGY.filter((queue) => queue.consumed).map((queue) => queue.name);

type Decision = 'keep' | 'take';

/**
 * Reads a dead-letter queue without losing anything: each message is taken unacknowledged, shown to `visit`, and
 * either taken for good (acked, after visit's own work succeeded) or kept; closing the channel at the end puts every
 * kept message back in its place. A failure half way leaves every message that was not explicitly taken.
 */
export async function browse(model: ChannelModel, deadQueue: string, limits: BrowseLimits, visit: (letter: DeadLetter) => Promise<Decision>): Promise<number> {
  const { timeoutMs } = limits;
  const channel = await withTimeout(model.createChannel(), timeoutMs, 'opening a channel');
  channel.on('error', () => undefined);
  let seen = 0;
  try {
    for (; seen < BROWSE_LIMIT; seen++) {
      const message = await withTimeout(channel.get(deadQueue), timeoutMs, `reading ${deadQueue}`);
      if (!message) break;
      if ((await visit(describe(deadQueue, message, limits))) === 'take') channel.ack(message);
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
  return seen;
}

function describe(deadQueue: string, message: GetMessage, { maxMessageBytes, serviceUser }: BrowseLimits): DeadLetter {
  const headers = message.properties.headers ?? {};
  const serviceCopy = message.properties.userId === serviceUser && typeof headers[DEAD_LETTER_HEADERS.id] === 'string';
  const own = serviceCopy ? headers : {};
  const death = lastDeath(headers);
  const inferred = serviceCopy ? undefined : inferredReason(message, death, maxMessageBytes);
  return {
    id: serviceCopy ? String(own[DEAD_LETTER_HEADERS.id]) : brokerLetterId(message),
    deadQueue,
    originalQueue: deadQueue.replace(/\.dead$/, ''),
    serviceCopy,
    reason: inferred?.reason ?? String(own[DEAD_LETTER_HEADERS.reason] ?? death?.reason ?? 'unknown'),
    reasonInferred: inferred?.why,
    deadLetteredAt: deadLetteredAt(own[DEAD_LETTER_HEADERS.at], death?.time),
    messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
    bytes: message.content.length,
    message,
  };
}

/**
 * The service's reason for a message it rejected onto the dead-letter exchange instead of copying, when the message
 * itself tells: a consumer copies every body up to MAX_MESSAGE_BYTES and none over it (the copy would take a body of
 * up to 128 MB through the process again), and checks the size before anything else, so a body over the limit
 * rejected by one of the service's queues was dead-lettered as too_large. Any other rejected message may have been
 * refused as a copy for any reason: that one stays `rejected`, its reason in the service's log.
 */
function inferredReason(message: GetMessage, death: Death | undefined, maxMessageBytes: number): { reason: string; why: string } | undefined {
  if (death?.reason !== 'rejected' || !CONSUMED_QUEUES.includes(String(death.queue))) return undefined;
  if (message.content.length <= maxMessageBytes) return undefined;
  return {
    reason: 'too_large',
    why: `inferred from the size: the broker says "rejected" by ${death.queue}, and only a body over MAX_MESSAGE_BYTES (${maxMessageBytes}) is rejected without a copy carrying its reason`,
  };
}

/**
 * The publish options that give the message back its original properties: the service's copies keep moved ones in
 * x-original-* headers (read on those copies only: see DeadLetter.serviceCopy), the broker's own dead-lettering
 * only takes the expiration. Dead-letter headers are dropped, and so are CC and BCC (isRoutingHeader).
 * user_id is restored only when it names the replaying user: RabbitMQ refuses any other, and a message must not
 * leave the dead queue vouched for by a user that did not publish it. A copy's own user_id is the service's, not
 * the original's: only its x-original-user-id counts.
 */
export function replayOptions(letter: DeadLetter, replayingUser: string): Options.Publish {
  const { properties } = letter.message;
  // A copy made before CC and BCC were moved aside may still carry them: a replay goes to one queue only.
  const headers = Object.fromEntries(Object.entries(properties.headers ?? {}).filter(([name]) => !isDeadLetterHeader(name) && !isRoutingHeader(name)));
  const original = (name: string): string | undefined => {
    if (!letter.serviceCopy) return undefined;
    const value = properties.headers?.[ORIGINAL_PROPERTY_HEADERS[name]!];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  // A copy carries them in headers; a message the broker dead-lettered still has them (but its expiration).
  const userId = letter.serviceCopy ? original('userId') : properties.userId;
  const replyTo = letter.serviceCopy ? original('replyTo') : properties.replyTo;
  // An expiration is a number of ms; the broker's entry may be the publisher's own (see deadLetteredAt).
  const brokerExpiration = lastDeath(properties.headers ?? {})?.['original-expiration'];
  const expiration = original('expiration') ?? (typeof brokerExpiration === 'string' && /^\d{1,10}$/.test(brokerExpiration) ? brokerExpiration : undefined);
  return {
    persistent: true,
    mandatory: true,
    headers,
    ...pick(properties, ['contentType', 'contentEncoding', 'correlationId', 'messageId', 'timestamp', 'type', 'appId', 'priority']),
    ...(userId === replayingUser ? { userId } : {}),
    ...(typeof replyTo === 'string' ? { replyTo } : {}),
    ...(typeof expiration === 'string' ? { expiration } : {}),
  };
}

interface Death {
  queue?: string;
  reason?: string;
  time?: unknown;
  'original-expiration'?: string;
}

/**
 * The broker's entry for the last time it dead-lettered the message: x-death lists the most recent first, and the
 * broker puts its own entry there. The entries after it may be anyone's: a publisher can send an x-death of its own.
 */
function lastDeath(headers: Record<string, unknown>): Death | undefined {
  const deaths = headers['x-death'];
  return Array.isArray(deaths) ? (deaths[0] as Death | undefined) : undefined;
}

/**
 * When it was dead-lettered, if that is a time that can be true. RabbitMQ (3.10 to 3.12) keeps a publisher's own
 * x-death entry when its queue and reason match the broker's, time included: a time of 10^20 s made list and show
 * throw on toISOString(). A time that cannot be is no time: such a message is listed without one and never purged
 * by age.
 */
function deadLetteredAt(own: unknown, brokerTime: unknown): Date | undefined {
  const seconds = typeof brokerTime === 'object' && brokerTime !== null ? (brokerTime as { value?: unknown }).value : brokerTime;
  const at = typeof own === 'string' ? new Date(own) : typeof seconds === 'number' ? new Date(seconds * 1000) : undefined;
  return at !== undefined && at.getTime() >= EARLIEST_TIME && at.getTime() <= Date.now() + 24 * 3_600_000 ? at : undefined;
}

/** 2000-01-01: no message of this service was dead-lettered before. */
const EARLIEST_TIME = Date.UTC(2000, 0, 1);

/** A stable name for a message the broker dead-lettered itself: the same message gets the same id in every listing. */
function brokerLetterId(message: GetMessage): string {
  const death = lastDeath(message.properties.headers ?? {});
  const time = (death?.time as { value?: unknown } | undefined)?.value ?? death?.time;
  const digest = createHash('sha256')
    .update(`${String(message.properties.messageId ?? '')}\0${String(time ?? '')}\0${death?.queue ?? ''}\0`)
    .update(message.content.subarray(0, 64 * 1024))
    .digest('hex');
  return `broker-${digest.slice(0, 24)}`;
}

function pick<T extends object, K extends keyof T>(object: T, names: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(names.filter((name) => object[name] !== undefined).map((name) => [name, object[name]])) as Partial<Pick<T, K>>;
}
