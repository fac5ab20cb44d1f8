import { EventEmitter, once } from 'node:events';
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { context, type Context } from '@opentelemetry/api';
import type { Logger } from '../observability/logger.js';
import { withTimeout } from '../with-timeout.js';
import type { RabbitConnection } from './rabbitmq-connection.js';
import { KnownExchanges } from './known-exchanges.js';
import { DEAD_LETTER_EXCHANGE, ORDERS_EXCHANGE } from './topology.js';
import { ReusedHeaders } from './publish-headers.js';

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  /** The JSON body, already serialized. */
  body: Buffer;
  messageId: string;
  type: string;
  /** Seconds since the epoch, as AMQP's timestamp property has it. */
  timestamp: number;
  correlationId: string | null;
  /** The outbox row's per-order sequence, as header x-event-sequence: consumers order and deduplicate by it. */
  sequence?: number;
  /** W3C trace context headers (traceparent, tracestate, baggage) that consumers continue. */
  traceHeaders?: Record<string, string>;
  /** The context to publish in (the row's publish span), so that an instrumented channel traces it there. */
  traceContext?: Context;
}

export type PublishFailureReason = 'unroutable' | 'nack' | 'timeout' | 'channel_closed' | 'no_exchange';
export type PublishOutcome = { ok: true; confirmedAt: number } | { ok: false; reason: PublishFailureReason; error: string };

/** What is known of one message between publish and confirm. */
interface InFlight {
  messageId: string;
  exchange: string;
  routingKey: string;
  /** The broker returned it (mandatory, no queue took it); its ack follows. */
  returned: boolean;
}

/**
 * Publishes on a confirm channel: a message counts as published only once the broker confirmed it, and a
 * message that no queue took (mandatory, returned) counts as a failure even though an ack follows its return.
 * The channel is created on every (re)connection; after a channel-level error it is re-created on next use.
 */
export class RabbitPublisher extends EventEmitter {
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private blocked = false;
  private closed = false;
  private readonly exchanges: KnownExchanges;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly headers = new ReusedHeaders();

  constructor(
    private readonly rabbit: RabbitConnection,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
    /** The connection's RabbitMQ user, set as every message's user_id: the broker vouches for it, consumers trust it. */
    private readonly userId: string,
  ) {
    super();
    this.exchanges = new KnownExchanges(timeoutMs);
  }

  /** Opens the channel on each connection; emits 'ready' whenever publishing becomes possible again. */
  async start(): Promise<void> {
    await this.rabbit.onConnect(async (model) => {
      if (this.closed) return;
      this.model = model;
      this.blocked = false;
      // The topology hook ran first on this connection, so these exist.
      this.exchanges.reset([ORDERS_EXCHANGE, DEAD_LETTER_EXCHANGE]);
      model.once('close', () => {
        if (this.model !== model) return;
        this.model = undefined;
        this.channel = undefined;
      });
      // A broker short of memory or disk blocks publishers: confirms would not come, and failing rows for it
      // would park them, so the relay waits instead.
      model.on('blocked', (reason: string) => {
        this.blocked = true;
        this.logger.warn('rabbitmq blocked publishing', { reason });
      });
      model.on('unblocked', () => {
        this.blocked = false;
        this.emit('ready');
      });
      this.channel = await this.openChannel(model);
      setImmediate(() => this.emit('ready'));
    }).catch((error) => {
      // Connected, but no channel now: publishBatch opens one on first use; a broken connection recovers by itself.
      this.logger.warn('could not open the publisher channel', { error: String(error) });
    });
  }

  get isReady(): boolean {
    return this.model !== undefined && !this.blocked && !this.closed;
  }

  /**
   * Publishes runs of messages, each run in order: a message goes out only once the broker confirmed the one before
   * it in its run, right from that confirm, so no run waits for another's confirms (a run of one is a plain publish).
   * A message whose predecessor failed is not sent and gets no outcome. The whole call is bounded by the timeout:
   * a sent message not confirmed by then counts as a timeout, and nothing more is sent.
   *
   * At most one message per run is unconfirmed at a time, so what waits in the socket is bounded by the number of
   * runs (the relay's batch): only the first messages wait for the socket to drain. `confirmed` hears of each
   * message the broker confirmed as it happens, before the call returns (the relay lets later rows go from it).
   */
  async publishRuns<T extends { readonly exchange: string }>(
    runs: readonly (readonly T[])[],
    toMessage: (item: T) => OutgoingMessage,
    confirmed?: (item: T) => void,
  ): Promise<Map<T, PublishOutcome>> {
    const outcomes = new Map<T, PublishOutcome>();
    const channel = await this.currentChannel();
    if (!channel) {
      for (const run of runs) if (run[0] !== undefined) outcomes.set(run[0], { ok: false, reason: 'channel_closed', error: 'not connected to RabbitMQ' });
      return outcomes;
    }
    const missing = this.model ? await this.exchanges.missing(this.model, exchangesOf(runs)) : new Set<string>();
    const deadline = Date.now() + this.timeoutMs;
    const sending = new RunSending(runs.length);
    /** Per run, the position and message id of the last message sent (-1: none yet), to time out the unconfirmed ones. */
    const lastSent = new Int32Array(runs.length).fill(-1);
    const lastSentIds: string[] = new Array<string>(runs.length);
    const send = (runIndex: number, position: number): boolean => {
      const run = runs[runIndex]!;
      const item = run[position]!;
      if (missing.has(item.exchange)) {
        outcomes.set(item, { ok: false, reason: 'no_exchange', error: `exchange "${item.exchange}" does not exist` });
        sending.endRun();
        return true;
      }
      const message = toMessage(item);
      lastSent[runIndex] = position;
      lastSentIds[runIndex] = message.messageId;
      return this.publishOne(channel, message, (outcome) => {
        if (sending.over) return;
        outcomes.set(item, outcome);
        if (outcome.ok) confirmed?.(item);
        if (outcome.ok && position + 1 < run.length) send(runIndex, position + 1);
        else sending.endRun();
      });
    };
    for (const [index, run] of runs.entries()) {
      if (run.length === 0) sending.endRun();
      else if (!send(index, 0) && !(await this.drained(channel, deadline))) {
        // Past the deadline the runs not started are left unpublished rather than queued behind a stuck socket.
        for (let left = runs.length - index - 1; left > 0; left--) sending.endRun();
        break;
      }
    }
    try {
      await withTimeout(sending.done(), Math.max(1, deadline - Date.now()), 'waiting for publisher confirms');
    } catch {
      // Confirms this late mean the channel is in trouble: start afresh rather than let stale confirms pile up.
      this.dropChannel(channel);
    }
    sending.over = true;
    // A nack, too: on RabbitMQ 3.10 a channel that published to a quorum queue while its leader was being elected
    // (a node just died) keeps getting nacks for that queue for good, while a new channel is taken at once (seen in
    // the rabbit-node-loss fault step). The nacked rows are retried, on the new channel.
    if (anyNacked(outcomes.values())) this.dropChannel(channel);
    // At most one message per run is unconfirmed: its last one sent, when that has no outcome.
    runs.forEach((run, index) => {
      const position = lastSent[index]!;
      const item = position >= 0 ? run[position] : undefined;
      if (item === undefined || outcomes.has(item)) return;
      this.inFlight.delete(lastSentIds[index]!);
      outcomes.set(item, { ok: false, reason: 'timeout', error: `not confirmed within ${this.timeoutMs} ms` });
    });
    return outcomes;
  }

  async close(): Promise<void> {
    this.closed = true;
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  /**
   * Publishes one message; `settle` receives its outcome once, when the broker confirms, nacks or the channel
   * closes. Returns whether the socket took it without buffering beyond its limit.
   */
  private publishOne(channel: ConfirmChannel, message: OutgoingMessage, settle: (outcome: PublishOutcome) => void): boolean {
    // What amqplib keeps until the confirm (the relay sends thousands a second) holds what the outcome needs, not
    // the message, whose body buffer can then go as soon as the socket took it instead of living until the confirm.
    const state: InFlight = { messageId: message.messageId, exchange: message.exchange, routingKey: message.routingKey, returned: false };
    this.inFlight.set(state.messageId, state);
    const done = (error: Error | null) => {
      if (this.inFlight.get(state.messageId) === state) this.inFlight.delete(state.messageId);
      settle(confirmOutcome(state, error));
    };
    try {
      const options = publishOptions(message, this.userId, this.headers.of(message));
      if (!message.traceContext) return channel.publish(message.exchange, message.routingKey, message.body, options, done);
      return context.with(message.traceContext, () => channel.publish(message.exchange, message.routingKey, message.body, options, done));
    } catch (error) {
      // amqplib throws at once on a channel that has already closed.
      done(error instanceof Error ? error : new Error(String(error)));
      return true;
    }
  }

  /** Waits for the socket buffer to drain, until the deadline; false when it did not. */
  private async drained(channel: ConfirmChannel, deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    return withTimeout(once(channel, 'drain'), left, 'waiting for the channel to drain').then(
      () => true,
      () => false,
    );
  }

  private async currentChannel(): Promise<ConfirmChannel | undefined> {
    if (this.channel) return this.channel;
    if (!this.model || this.closed) return undefined;
    this.channel = await this.openChannel(this.model).catch((error) => {
      this.logger.warn('could not open a confirm channel', { error: String(error) });
      return undefined;
    });
    return this.channel;
  }

  private async openChannel(model: ChannelModel): Promise<ConfirmChannel> {
    const channel = await withTimeout(model.createConfirmChannel(), this.timeoutMs, 'opening a confirm channel');
    channel.on('return', (message: Message) => {
      const state = this.inFlight.get(String(message.properties.messageId));
      if (state) state.returned = true;
    });
    channel.on('error', (error: Error) => {
      // A channel error closes the channel (for example an exchange deleted since it was checked).
      this.exchanges.forget();
      this.logger.warn('rabbitmq publish channel error', { error: error.message });
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    return channel;
  }

  private dropChannel(channel: ConfirmChannel): void {
    if (this.channel === channel) this.channel = undefined;
    channel.close().catch(() => undefined);
  }
}

function anyNacked(outcomes: Iterable<PublishOutcome>): boolean {
  for (const outcome of outcomes) if (!outcome.ok && outcome.reason === 'nack') return true;
  return false;
}

/** The exchanges the runs publish to, each once. */
function exchangesOf(runs: readonly (readonly { readonly exchange: string }[])[]): Set<string> {
  const names = new Set<string>();
  for (const run of runs) for (const item of run) names.add(item.exchange);
  return names;
}

function publishOptions(message: OutgoingMessage, userId: string, headers: Record<string, unknown>) {
  return {
    persistent: true,
    userId,
    mandatory: true,
    contentType: 'application/json',
    messageId: message.messageId,
    type: message.type,
    timestamp: message.timestamp,
    headers,
  };
}

/** Counts the runs still sending; done() resolves when every run has ended (its last message settled, or a failure). */
class RunSending {
  /** Set once the call returned: a confirm that comes later sends nothing more. */
  over = false;
  private resolve: (() => void) | undefined;

  constructor(private left: number) {}

  endRun(): void {
    if (--this.left === 0) this.resolve?.();
  }

  done(): Promise<void> {
    if (this.left <= 0) return Promise.resolve();
    return new Promise((resolve) => (this.resolve = resolve));
  }
}

function confirmOutcome(message: InFlight, error: Error | null): PublishOutcome {
  if (error) {
    // amqplib rejects with "channel closed" when the channel (or connection) went away, "message nacked" on a nack.
    const closed = /closed/i.test(error.message);
    return { ok: false, reason: closed ? 'channel_closed' : 'nack', error: error.message };
  }
  // RabbitMQ sends basic.return before the ack of a mandatory message that no queue took.
  if (message.returned) {
    return { ok: false, reason: 'unroutable', error: `no queue is bound to "${message.exchange}" for "${message.routingKey}"` };
  }
  return { ok: true, confirmedAt: Date.now() };
}
