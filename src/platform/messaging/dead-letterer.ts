import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from '../observability/logger.js';
import { withTimeout } from '../with-timeout.js';
import { DEAD_LETTER_HEADERS, deadLetterCopyOptions, type DeadLetterCopyInput } from './dead-letter-copy.js';
import { deadLetterQueue, declareDeadLetterQueue } from './topology.js';
import type { QueueType } from './queue-type.js';

/**
 * What to do with the original: `copy` (a copy is in the dead queue: ack it), `broker` (reject it without requeue:
 * the broker dead-letters it) or `requeue` (the dead queue cannot be declared: hand it back, after a pause).
 */
export type DeadLetterPath = 'copy' | 'broker' | 'requeue';

/**
 * Moves a message that can never be handled to `<queue>.dead`, by one of two paths:
 *
 * 1. `copy`: a copy carrying the reason headers, published on a confirm channel of its own (so that a copy the
 *    broker refuses closes that channel, never the one the original was delivered on), then the original is acked.
 * 2. `broker`: if the copy cannot be made or is not confirmed, the original is rejected without requeue and the
 *    broker dead-letters it through the queue's dead-letter exchange, as it came plus an x-death header. The
 *    reason is then only in the logs and metrics, but the message is never put back at the head of its queue.
 *
 * Either path needs `<queue>.dead` to exist (the broker drops what its dead-lettering cannot route), so a
 * missing one is declared again first.
 */
export class DeadLetterer {
  private channel: ConfirmChannel | undefined;
  private readonly returned = new Set<string>();

  constructor(
    private readonly model: ChannelModel,
    private readonly queue: string,
    /** The consumer's; userId is set as each copy's user_id (the broker refuses it from any other user, so it proves the copy is the service's). */
    private readonly limits: { timeoutMs: number; queueType: QueueType; userId: string },
    private readonly logger: Logger,
  ) {}

  /**
   * Copies the message to the dead queue if it can; says what is left to do with the original. A body over
   * `copyLimit` bytes is not copied: the copy would take it through this process's memory a second time.
   */
  async deadLetter(message: ConsumeMessage, reason: string, detail: string, copyLimit: number): Promise<DeadLetterPath> {
    if (message.content.length > copyLimit) return (await this.ensureDeadQueue()) ? 'broker' : 'requeue';
    const copied = await this.publishCopy(message, reason, detail).catch(async (error: unknown) => {
      this.logger.warn('dead-letter copy refused; the broker dead-letters the original', { queue: this.queue, reason, error: String(error) });
      // The next copy goes on a new channel: a channel refused once by a quorum queue may stay refused (see RabbitPublisher).
      await this.close();
      return false;
    });
    if (copied) return 'copy';
    return (await this.ensureDeadQueue()) ? 'broker' : 'requeue';
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  /** True once the broker confirmed the copy and routed it to the dead queue (declared again if it was missing). */
  private async publishCopy(message: ConsumeMessage, reason: string, detail: string): Promise<boolean> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      const copyId = randomUUID();
      const copy: DeadLetterCopyInput = { properties: message.properties, fields: message.fields, queue: this.queue, reason, detail, copyId, now: new Date(), userId: this.limits.userId };
      const channel = await this.confirmChannel();
      const confirmed = new Promise<void>((resolve, reject) => this.sendCopy(channel, message.content, copy, (error) => (error ? reject(error) : resolve())));
      await withTimeout(confirmed, this.limits.timeoutMs, 'waiting for the dead-letter copy to be confirmed');
      // The broker sends a mandatory message's return before its confirm.
      if (!this.returned.delete(copyId)) return true;
      if (attempt === 1 && !(await this.ensureDeadQueue())) return false;
    }
    return false;
  }

  /**
   * Sends the copy to the dead queue; `settled` hears of its confirm. When amqplib cannot encode one of the original
   * headers (a table with a "!" key reads as a typed value of an unknown type), the copy goes without them: left to
   * the broker, the original would reach the dead queue with every header its sender forged.
   */
  private sendCopy(channel: ConfirmChannel, content: Buffer, copy: DeadLetterCopyInput, settled: (error: unknown) => void): void {
    const send = (options: Options.Publish) => channel.sendToQueue(deadLetterQueue(this.queue), content, options, settled);
    try {
      send(deadLetterCopyOptions(copy));
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      send(deadLetterCopyOptions({ ...copy, originalHeaders: false }));
    }
  }

  /** Declares `<queue>.dead` (and its binding) again on a throwaway channel; false when the broker refuses. */
  private async ensureDeadQueue(): Promise<boolean> {
    try {
      const channel = await withTimeout(this.model.createChannel(), this.limits.timeoutMs, 'opening a channel');
      channel.on('error', () => undefined);
      try {
        await withTimeout(declareDeadLetterQueue(channel, this.queue, this.limits.queueType), this.limits.timeoutMs, 'declaring the dead-letter queue');
      } finally {
        await channel.close().catch(() => undefined);
      }
      return true;
    } catch (error) {
      this.logger.error('the dead-letter queue is missing and cannot be declared', { queue: this.queue, error: String(error) });
      return false;
    }
  }

  private async confirmChannel(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    const channel = await withTimeout(this.model.createConfirmChannel(), this.limits.timeoutMs, 'opening the dead-letter channel');
    channel.on('error', (error: Error) => this.logger.warn('dead-letter channel error', { queue: this.queue, error: error.message }));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    channel.on('return', (returned: ConsumeMessage) => {
      const copyId = returned.properties.headers?.[DEAD_LETTER_HEADERS.id];
      if (typeof copyId === 'string') this.returned.add(copyId);
    });
    this.channel = channel;
    return channel;
  }
}
