import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { RabbitConnection } from './rabbitmq-connection.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { acceptCorrelationId, withCorrelationId } from '../observability/correlation.js';

/** What handling a message did; all three are acknowledged. */
export type MessageOutcome = 'applied' | 'duplicate' | 'ignored';

/** A message that can never be handled (bad JSON, unknown type, unknown order): dead-lettered with `reason`, never retried. */
export class PoisonMessageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

export interface ConsumerOptions {
  queue: string;
  /** Messages in flight at once on this consumer. */
  prefetch: number;
  handle(message: ConsumeMessage): Promise<MessageOutcome>;
  /** True for failures that will pass by themselves (database down, conflict): retried without limit. */
  isTransient(error: unknown): boolean;
  /**
   * The correlation id of a message that carries none (e.g. published by hand): lets a consumer log it under
   * the id of the work it belongs to. Failing or undefined falls back to the message id, then a new id.
   */
  correlationIdFor?(message: ConsumeMessage): Promise<string | undefined>;
  /** Attempts for an unexpected (non-transient, non-poison) error before the message is dead-lettered. */
  maxAttempts?: number;
}

const HEADER_REASON = 'x-dead-letter-reason';
const HEADER_ERROR = 'x-dead-letter-error';
const HEADER_COPY_ID = 'x-dead-letter-copy-id';
const DEAD_LETTER_RETRY_DELAY_MS = 1_000;

/**
 * Consumes one queue with manual acknowledgement: a message is acked only after its handler finished (and so
 * after its transaction committed). A poison message is copied to `<queue>.dead` with the reason in a header,
 * then acked. A transient failure is retried with capped exponential backoff while the message is held,
 * then nacked for redelivery, so it never loops hot and is never lost. Channels and the consumer are re-created
 * on every reconnection.
 */
export class RabbitConsumer {
  private channel: ConfirmChannel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly attempts = new Map<string, number>();
  /** Dead-letter copies the broker returned as unroutable (their `<queue>.dead` is missing), by copy id. */
  private readonly returnedCopies = new Set<string>();
  private stopped = false;

  constructor(
    private readonly rabbit: RabbitConnection,
    private readonly options: ConsumerOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  async start(): Promise<void> {
    await this.rabbit.onConnect((model) => this.attach(model));
  }

  /** Stops taking messages, waits for those in flight, closes the channel. */
  async stop(): Promise<void> {
    this.stopped = true;
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await channel?.close().catch(() => undefined);
    this.channel = undefined;
  }

  private async attach(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn('consumer channel error', { queue: this.options.queue, error: error.message }));
    // The broker sends a mandatory message's return before its confirm, so deadLetter() sees it after waitForConfirms.
    channel.on('return', (returned: ConsumeMessage) => {
      const copyId = returned.properties.headers?.[HEADER_COPY_ID];
      if (typeof copyId === 'string') this.returnedCopies.add(copyId);
    });
    // The broker can close the channel alone while the connection lives on (e.g. its 30-minute ack timeout while a
    // handler retries through an outage): consume again on a new channel, or nothing would until a reconnection.
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      if (!this.stopped) this.attach(model).catch((error) => this.logger.debug('consumer channel not reopened', { queue: this.options.queue, error: String(error) }));
    });
    await channel.prefetch(this.options.prefetch);
    this.channel = channel;
    const { consumerTag } = await channel.consume(this.options.queue, (message) => {
      if (!message) return; // the broker cancelled the consumer; the next reconnection re-creates it
      const work = this.process(channel, message).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    });
    this.consumerTag = consumerTag;
  }

  private async process(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const { queue } = this.options;
    const headers = message.properties.headers ?? {};
    const given = headers['x-correlation-id'] ?? message.properties.correlationId;
    const fallback = given === undefined ? await this.options.correlationIdFor?.(message).catch(() => undefined) : undefined;
    const correlationId = acceptCorrelationId(given ?? fallback ?? message.properties.messageId);
    await withCorrelationId(correlationId, async () => {
      const key = messageKey(message);
      for (;;) {
        try {
          const outcome = await this.options.handle(message);
          this.attempts.delete(key);
          this.metrics.consumedMessages.inc({ queue, outcome });
          this.settle(channel, () => channel.ack(message));
          return;
        } catch (error) {
          const attempt = (this.attempts.get(key) ?? 0) + 1;
          if (error instanceof PoisonMessageError) return this.deadLetter(channel, message, error.reason, error.message, key);
          if (!this.options.isTransient(error) && attempt >= (this.options.maxAttempts ?? 5)) {
            return this.deadLetter(channel, message, 'handler_error', String((error as Error)?.message ?? error), key);
          }
          this.attempts.set(key, attempt);
          this.metrics.consumedMessages.inc({ queue, outcome: 'retried' });
          const delay = Math.min(100 * 2 ** attempt, 5_000) * (0.75 + Math.random() / 2);
          this.logger.warn('message handling failed; retrying', { queue, attempt, delay_ms: Math.round(delay), error: String((error as Error)?.message ?? error) });
          await sleep(delay);
          // Redeliver through the broker rather than looping here: a broken channel or a stop hands it to another consumer.
          if (this.stopped || channel !== this.channel) return this.settle(channel, () => channel.nack(message, false, true));
        }
      }
    });
  }

  private async deadLetter(channel: ConfirmChannel, message: ConsumeMessage, reason: string, detail: string, key: string): Promise<void> {
    const { queue } = this.options;
    this.attempts.delete(key);
    const deadQueue = `${queue}.dead`;
    this.logger.warn('message dead-lettered', { queue, dead_queue: deadQueue, reason, detail, messageId: message.properties.messageId });
    const copyId = randomUUID();
    try {
      channel.sendToQueue(deadQueue, message.content, {
        ...message.properties,
        persistent: true,
        // Without mandatory a missing dead queue would swallow the copy, and the original would be acked: lost.
        mandatory: true,
        headers: {
          ...(message.properties.headers ?? {}),
          [HEADER_REASON]: reason,
          [HEADER_ERROR]: detail.slice(0, 500),
          'x-original-queue': queue,
          [HEADER_COPY_ID]: copyId,
        },
      });
      await channel.waitForConfirms();
      if (this.returnedCopies.delete(copyId)) throw new Error(`queue ${deadQueue} does not exist`);
    } catch (error) {
      // Not copied: hand it back for redelivery so it is not lost. Left unacknowledged on a channel that stays
      // open (the broker nacked the copy), it would hold a prefetch slot for good; after enough of them the
      // consumer would stall. The pause keeps a broker that keeps refusing from turning this into a hot loop.
      this.logger.error('dead-lettering failed; message goes back to the queue', { queue, error: String(error) });
      await sleep(DEAD_LETTER_RETRY_DELAY_MS);
      this.settle(channel, () => channel.nack(message, false, true));
      return;
    }
    this.metrics.deadLettered.inc({ queue, reason });
    this.metrics.consumedMessages.inc({ queue, outcome: 'dead_lettered' });
    this.settle(channel, () => channel.ack(message));
  }

  /** Acks and nacks on a channel that died in the meantime fail; the broker redelivers those messages anyway. */
  private settle(channel: ConfirmChannel, action: () => void): void {
    try {
      if (channel === this.channel) action();
    } catch (error) {
      this.logger.warn('could not settle message; it will be redelivered', { queue: this.options.queue, error: String(error) });
    }
  }
}

function messageKey(message: ConsumeMessage): string {
  return message.properties.messageId ?? `${message.fields.consumerTag}:${message.fields.deliveryTag}`;
}
