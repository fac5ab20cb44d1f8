import type { MessageProperties, Options } from 'amqplib';
import type { DeadLetterCopyHeaders } from './dead-letter-headers.js';

/** Headers the service sets on what it dead-letters; `npm run dead-letters` reads them. */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-dead-letter-reason',
  error: 'x-dead-letter-error',
  /** A fresh id per copy: the dead-letters tool names messages by it, and a returned copy is recognised by it. */
  id: 'x-dead-letter-id',
  at: 'x-dead-lettered-at',
  queue: 'x-original-queue',
  exchange: 'x-original-exchange',
  routingKey: 'x-original-routing-key',
  /** Names of original headers left off the copy because they were too large. */
  dropped: 'x-dead-letter-dropped-headers',
} as const;

/**
 * Properties that would make the broker refuse the copy, or make it vanish, go into headers of this prefix
 * (`x-original-user-id`, `x-original-expiration`, ...): a replay restores them.
 */
export const ORIGINAL_PROPERTY_HEADERS: Readonly<Record<string, string>> = {
  userId: 'x-original-user-id',
  expiration: 'x-original-expiration',
  replyTo: 'x-original-reply-to',
  clusterId: 'x-original-cluster-id',
};

/** String properties the copy keeps as they came: any publisher may set them, and none changes routing or life. */
const KEPT_STRINGS = ['contentType', 'contentEncoding', 'correlationId', 'messageId', 'type', 'appId'] as const;
/** AMQP's short strings (property values, header names) hold at most 255 bytes. */
const SHORT_STRING_BYTES = 255;
/** One original header above this is left off the copy; all of them together stay under the second bound. */
const MAX_HEADER_BYTES = 4 * 1024;
const MAX_HEADERS_BYTES = 32 * 1024;
const MAX_ERROR_CHARS = 500;

export interface DeadLetterCopyInput {
  properties: MessageProperties;
  fields: { exchange: string; routingKey: string };
  queue: string;
  reason: string;
  detail: string;
  copyId: string;
  now: Date;
  /** The consumer's own RabbitMQ user, set as the copy's user_id (see deadLetterCopyOptions). */
  userId: string;
  /** false: none of the original's headers go along (their names do, in x-dead-letter-dropped-headers). */
  originalHeaders?: boolean;
}

/**
 * The publish options of a dead-letter copy that the broker accepts whatever the original carried. The copy keeps
 * the original's harmless properties; user_id (the broker checks it against the publisher: the service's user
 * would be refused for a message another user published), expiration (the copy would expire in the dead queue)
 * and other routing properties move into `x-original-*` headers, as do the CC and BCC headers (isRoutingHeader).
 * Original headers are kept only while each and all together stay small, so that the copy's header frame never
 * passes amqplib's 64 KiB limit.
 */
export function deadLetterCopyOptions(input: DeadLetterCopyInput): Options.Publish {
  const { properties } = input;
  // user_id: the broker refuses it from any other user, so it proves to the dead-letters tool that the x-dead-letter-*
  // and x-original-* headers are the service's own, not forged by whoever published the original.
  const options: Options.Publish = { persistent: true, mandatory: true, userId: input.userId };
  const moved: Record<string, unknown> = {};
  for (const name of KEPT_STRINGS) {
    const value: unknown = properties[name];
    if (typeof value !== 'string') continue;
    if (Buffer.byteLength(value) <= SHORT_STRING_BYTES) options[name] = value;
    else moved[`x-original-${kebab(name)}`] = value.slice(0, MAX_ERROR_CHARS);
  }
  if (typeof properties.timestamp === 'number' && Number.isSafeInteger(properties.timestamp)) options.timestamp = properties.timestamp;
  if (typeof properties.priority === 'number' && properties.priority >= 0 && properties.priority <= 255) options.priority = properties.priority;
  for (const [property, header] of Object.entries(ORIGINAL_PROPERTY_HEADERS)) {
    const value: unknown = (properties as unknown as Record<string, unknown>)[property];
    if (typeof value === 'string' && value !== '') moved[header] = value.slice(0, SHORT_STRING_BYTES);
  }
  const { kept, dropped } = boundedHeaders(properties.headers ?? {}, input.originalHeaders === false ? 0 : MAX_HEADERS_BYTES);
  const headers: DeadLetterCopyHeaders = {
    ...kept,
    ...moved,
    [DEAD_LETTER_HEADERS.reason]: input.reason,
    [DEAD_LETTER_HEADERS.error]: input.detail.slice(0, MAX_ERROR_CHARS),
    [DEAD_LETTER_HEADERS.id]: input.copyId,
    [DEAD_LETTER_HEADERS.at]: input.now.toISOString(),
    [DEAD_LETTER_HEADERS.queue]: input.queue,
    [DEAD_LETTER_HEADERS.exchange]: input.fields.exchange.slice(0, SHORT_STRING_BYTES),
    [DEAD_LETTER_HEADERS.routingKey]: input.fields.routingKey.slice(0, SHORT_STRING_BYTES),
    ...(dropped.length > 0 ? { [DEAD_LETTER_HEADERS.dropped]: dropped.slice(0, 20).join(',').slice(0, MAX_ERROR_CHARS) } : {}),
  };
  options.headers = headers;
  return options;
}

/**
 * RabbitMQ's sender-selected distribution: a message whose CC or BCC header names routing keys is also routed by
 * them, through whatever exchange it is published to (for the default exchange: to the queues of those names). A
 * message the service publishes again (a dead-letter copy, a replay, a move) is meant for one queue only, so these
 * never go along. Kept on a copy, a reply published with `CC: ["CustomerSaga"]` came back from its own dead-letter
 * copy, whose copy came back too: twice as many each round, without end.
 */
export function isRoutingHeader(name: string): boolean {
  return /^b?cc$/i.test(name);
}

/** Headers that dead-lettering added: the service's own, and the broker's (x-death and its summaries). A replay drops them. */
export function isDeadLetterHeader(name: string): boolean {
  return isOwnDeadLetterHeader(name) || name === 'x-death' || /^x-(first|last)-death-/.test(name);
}

/** The service's own: a message dead-lettered again gets fresh ones. */
function isOwnDeadLetterHeader(name: string): boolean {
  return name.startsWith('x-dead-letter') || name.startsWith('x-original-');
}

function boundedHeaders(headers: Record<string, unknown>, maxBytes: number): { kept: Record<string, unknown>; dropped: string[] } {
  const kept: Record<string, unknown> = {};
  const dropped: string[] = [];
  let total = 0;
  for (const [given, value] of Object.entries(headers)) {
    if (isOwnDeadLetterHeader(given)) continue;
    // Kept for the record under a name that routes nothing (a replay drops it with the other x-original-* headers).
    const name = isRoutingHeader(given) ? `x-original-${given.toLowerCase()}` : given;
    const size = Buffer.byteLength(name) + approximateSize(value, 0);
    if (Buffer.byteLength(name) > 128 || size > MAX_HEADER_BYTES || total + size > maxBytes) {
      dropped.push(name.slice(0, 64));
      continue;
    }
    kept[name] = value;
    total += size;
  }
  return { kept, dropped };
}

/** An upper estimate of a header value's encoded size; anything nested too deep counts as too large. */
function approximateSize(value: unknown, depth: number): number {
  if (depth > 8) return Infinity;
  if (typeof value === 'string') return Buffer.byteLength(value) + 5;
  if (Buffer.isBuffer(value)) return value.length + 5;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + approximateSize(item, depth + 1), 5);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).reduce((sum, [key, item]) => sum + Buffer.byteLength(key) + 1 + approximateSize(item, depth + 1), 5);
  }
  return 9;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
