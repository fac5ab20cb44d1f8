import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { RabbitConnection } from './rabbitmq-connection.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { acceptCorrelationId, withCorrelationId } from '../observability/correlation.js';
import { carrierFromHeaders, isTracingActive, NO_TRACE, type TraceCarrier } from '../observability/trace-context.js';
import { inConsumerSpan, markDeadLettered } from './consumer-tracing.js';
import { DeadLetterer } from './dead-letterer.js';
import { DeliveryCounter } from './delivery-count.js';
import { CORRELATION_HEADER } from './message-headers.js';
import type { QueueType } from './queue-type.js';

/** What handling a message did; all three are acknowledged. */
export type MessageOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * A message that can never be handled (bad JSON, unknown type, unknown order): dead-lettered with `reason`, never
 * retried. `subject` is what the body was found to be about (an order id) when it said that much, so that whoever
 * records the dead letter need not parse the body a second time to learn it.
 */
export class PoisonMessageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly subject?: string,
  ) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

export interface ConsumerOptions<Decoded = unknown> {
  queue: string;
  /** Messages in flight at once on this consumer. */
  prefetch: number;
  /**
   * Only messages whose RabbitMQ-validated user_id is one of these are handled; the rest are dead-lettered as
   * untrusted_publisher. Undefined: anyone allowed by the broker to publish here.
   */
  trustedPublishers?: readonly string[];
  /** Reads the body, once per delivery; throws a PoisonMessageError for a body that can never be handled. */
  decode(message: ConsumeMessage): Decoded;
  handle(decoded: Decoded, message: ConsumeMessage): Promise<MessageOutcome>;
  /** True for failures that will pass by themselves (database down, conflict): retried without limit. */
  isTransient(error: unknown): boolean;
  /**
   * Where a message that carries no correlation id (or, with tracing on, no trace context) comes from, e.g. one
   * published by hand: the correlation id and trace context of the work it belongs to, so that it is logged and
   * traced there. Asked once per such message; failing or undefined falls back to the message id, then a new id,
   * and to a trace of its own.
   */
  originOf?(decoded: Decoded): Promise<MessageOrigin | undefined>;
  /**
   * Told after a message whose body was read went to the dead-letter queue (its copy confirmed, or rejected to the
   * broker) and was settled; `decoded` is absent when the body could not be decoded, and then `subject` is the
   * PoisonMessageError's (what decode found the body to be about, if anything). Failures are logged only.
   */
  deadLettered?(message: ConsumeMessage, reason: string, decoded: Decoded | undefined, subject: string | undefined): Promise<void>;
  /** Attempts for an unexpected (non-transient, non-poison) error before the message is dead-lettered. */
  maxAttempts?: number;
  /**
   * The PoisonMessageError reasons this consumer can give. Their dead-letter counters start at 0, so that the first
   * dead letter after a start is an increase that alerts see (a series born at 1 shows no increase).
   */
  poisonReasons?: readonly string[];
}

export interface MessageOrigin {
  correlationId?: string;
  trace?: TraceCarrier;
}

export interface ConsumerLimits {
  /** Larger bodies are dead-lettered as too_large without being read. */
  maxMessageBytes: number;
  /** Bounds connecting, declaring and waiting for a dead-letter copy's confirm. */
  timeoutMs: number;
  /** QUEUE_TYPE: how a missing dead queue is declared again, and whether the broker counts deliveries. */
  queueType: QueueType;
  /** The connection's RabbitMQ user: each dead-letter copy's user_id, which the broker vouches for (see DeadLetterer). */
  userId: string;
}

/** Deliveries of one message after which it is dead-lettered as delivery_limit, whatever kept bringing it back. */
export const MAX_DELIVERIES = 10;
/** Before a message that could not be dead-lettered at all goes back to its queue: bounds that loop. */
const REQUEUE_DELAY_MS = 5_000;

/**
 * Consumes one queue with manual acknowledgement: a message is acked only after its handler finished (and so after
 * its transaction committed). Before its body is read a message is checked against the consumer's limits: its
 * size, its publisher, how often it was delivered. A poison message goes to `<queue>.dead` (see DeadLetterer); a
 * transient failure is retried with capped exponential backoff while the message is held. Channels and the
 * consumer are re-created on every reconnection.
 */
export class RabbitConsumer<Decoded = unknown> {
  private channel: Channel | undefined;
  private deadLetterer: DeadLetterer | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly deliveries: DeliveryCounter;
  private stopped = false;

  constructor(
    private readonly rabbit: RabbitConnection,
    private readonly options: ConsumerOptions<Decoded>,
    private readonly limits: ConsumerLimits,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.deliveries = new DeliveryCounter({ brokerCounts: limits.queueType === 'quorum' });
  }

  async start(): Promise<void> {
    const { queue, trustedPublishers, poisonReasons = [] } = this.options;
    const reasons = ['too_large', 'delivery_limit', 'handler_error', ...(trustedPublishers ? ['untrusted_publisher'] : []), ...poisonReasons];
    for (const reason of reasons) this.metrics.deadLettered.inc({ queue, reason }, 0);
    this.metrics.consumerAttached.set({ queue }, 0);
    await this.rabbit.onConnect((model) => this.attach(model));
  }

  /** Stops taking messages, waits for those in flight, closes the channels. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.metrics.consumerAttached.set({ queue: this.options.queue }, 0);
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await channel?.close().catch(() => undefined);
    await this.deadLetterer?.close();
    this.channel = undefined;
  }

  private async attach(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn('consumer channel error', { queue: this.options.queue, error: error.message }));
    // The broker can close the channel alone while the connection lives on (e.g. its 30-minute ack timeout while a
    // handler retries through an outage): consume again on a new channel, or nothing would until a reconnection.
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.metrics.consumerAttached.set({ queue: this.options.queue }, 0);
      if (!this.stopped) this.attach(model).catch((error) => this.logger.debug('consumer channel not reopened', { queue: this.options.queue, error: String(error) }));
    });
    await channel.prefetch(this.options.prefetch);
    if (this.deadLetterer) void this.deadLetterer.close();
    this.deadLetterer = new DeadLetterer(model, this.options.queue, this.limits, this.logger);
    this.channel = channel;
    const { consumerTag } = await channel.consume(this.options.queue, (message) => {
      if (!message) return; // the broker cancelled the consumer; the next reconnection re-creates it
      const work = this.process(channel, message).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    });
    this.consumerTag = consumerTag;
    if (!this.stopped) this.metrics.consumerAttached.set({ queue: this.options.queue }, 1);
  }

  private async process(channel: Channel, message: ConsumeMessage): Promise<void> {
    const given: unknown = message.properties.headers?.[CORRELATION_HEADER] ?? message.properties.correlationId;
    // Read only with tracing on: without it no span is made, and the relay already passed the headers on.
    const traced = isTracingActive() ? carrierFromHeaders(message.properties.headers) : NO_TRACE;
    const refusal = this.refusal(message);
    if (refusal) return this.within(acceptCorrelationId(given), traced, message, () => this.deadLetter(channel, message, refusal.reason, refusal.detail));
    let decoded: Decoded;
    try {
      decoded = this.options.decode(message);
    } catch (error) {
      const poison = error instanceof PoisonMessageError ? error : undefined;
      const [reason, detail] = poison ? [poison.reason, poison.message] : ['handler_error', String((error as Error)?.message ?? error)];
      return this.within(acceptCorrelationId(given), traced, message, () => this.deadLetter(channel, message, reason, detail, { decoded: undefined, subject: poison?.subject }));
    }
    const needsOrigin = given === undefined || (isTracingActive() && traced.traceparent === null);
    const origin = needsOrigin ? await this.options.originOf?.(decoded).catch(() => undefined) : undefined;
    const correlationId = acceptCorrelationId(given ?? origin?.correlationId ?? message.properties.messageId);
    const parent = traced.traceparent === null && origin?.trace ? origin.trace : traced;
    await this.within(correlationId, parent, message, () => this.handleWithRetries(channel, message, decoded));
  }

  /** The message's work, logged under its correlation id and traced in its trace. */
  private within(correlationId: string, parent: TraceCarrier, message: ConsumeMessage, work: () => Promise<void>): Promise<void> {
    return withCorrelationId(correlationId, () => inConsumerSpan(this.options.queue, message, parent, work));
  }

  /**
   * Why a message is dead-lettered before its body is read, if it is. The size comes first: a body over the limit is
   * rejected to the broker rather than copied, so it reaches the dead queue without a reason header, and
   * `npm run dead-letters` can tell its reason (too_large) from its size only if no other reason comes before it.
   */
  private refusal(message: ConsumeMessage): { reason: string; detail: string } | undefined {
    if (message.content.length > this.limits.maxMessageBytes) {
      return { reason: 'too_large', detail: `the body has ${message.content.length} bytes; the limit is ${this.limits.maxMessageBytes}` };
    }
    const { trustedPublishers } = this.options;
    const userId: unknown = message.properties.userId;
    if (trustedPublishers && !(typeof userId === 'string' && trustedPublishers.includes(userId))) {
      const who = typeof userId === 'string' ? `user ${JSON.stringify(userId.slice(0, 64))}` : 'a publisher that set no user_id';
      return { reason: 'untrusted_publisher', detail: `published by ${who}; only ${trustedPublishers.join(', ')} may publish here` };
    }
    const deliveries = this.deliveries.count(message);
    if (deliveries > MAX_DELIVERIES) return { reason: 'delivery_limit', detail: `delivered ${deliveries} times` };
    return undefined;
  }

  private async handleWithRetries(channel: Channel, message: ConsumeMessage, decoded: Decoded): Promise<void> {
    const { queue } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.options.handle(decoded, message);
        this.metrics.consumedMessages.inc({ queue, outcome });
        this.deliveries.forget(message);
        this.settle(channel, () => channel.ack(message));
        return;
      } catch (error) {
        if (error instanceof PoisonMessageError) return this.deadLetter(channel, message, error.reason, error.message, { decoded, subject: error.subject });
        const text = String((error as Error)?.message ?? error).slice(0, 500);
        if (!this.options.isTransient(error) && attempt >= (this.options.maxAttempts ?? 5)) return this.deadLetter(channel, message, 'handler_error', text, { decoded });
        this.metrics.consumedMessages.inc({ queue, outcome: 'retried' });
        const delay = Math.min(100 * 2 ** attempt, 5_000) * (0.75 + Math.random() / 2);
        this.logger.warn('message handling failed; retrying', { queue, attempt, delay_ms: Math.round(delay), error: text });
        await sleep(delay);
        // Redeliver through the broker rather than looping here: a broken channel or a stop hands it to another consumer.
        if (this.stopped || channel !== this.channel) return this.settle(channel, () => channel.nack(message, false, true));
      }
    }
  }

  /** `read`: the body was read (decoded, or not decodable), so the consumer is told (deadLettered) once it is done. */
  private async deadLetter(channel: Channel, message: ConsumeMessage, reason: string, detail: string, read?: { decoded: Decoded | undefined; subject?: string | undefined }): Promise<void> {
    const { queue } = this.options;
    const deadLetterer = this.deadLetterer;
    const path = deadLetterer ? await deadLetterer.deadLetter(message, reason, detail, this.limits.maxMessageBytes) : 'requeue';
    const messageId = printable(message.properties.messageId);
    if (path === 'requeue') {
      this.logger.error('message could not be dead-lettered; it goes back to the queue', { queue, reason, messageId });
      await sleep(REQUEUE_DELAY_MS);
      return this.settle(channel, () => channel.nack(message, false, true));
    }
    markDeadLettered(reason);
    this.logger.warn('message dead-lettered', { queue, reason, path, detail: detail.slice(0, 500), messageId });
    this.deliveries.forget(message);
    this.metrics.deadLettered.inc({ queue, reason });
    this.metrics.consumedMessages.inc({ queue, outcome: 'dead_lettered' });
    this.settle(channel, () => (path === 'copy' ? channel.ack(message) : channel.nack(message, false, false)));
    if (read && this.options.deadLettered) {
      await this.options.deadLettered(message, reason, read.decoded, read.subject).catch((error: unknown) => this.logger.warn('could not record a dead-lettered message', { queue, reason, error: String(error) }));
    }
  }

  /** Acks and nacks on a channel that died in the meantime fail; the broker redelivers those messages anyway. */
  private settle(channel: Channel, action: () => void): void {
    try {
      if (channel === this.channel) action();
    } catch (error) {
      this.logger.warn('could not settle message; it will be redelivered', { queue: this.options.queue, error: String(error) });
    }
  }
}

/** A message id fit for a log line: at most 100 printable characters. */
function printable(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return JSON.stringify(value.slice(0, 100)).slice(1, -1);
}
