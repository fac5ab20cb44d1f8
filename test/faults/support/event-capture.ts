import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { connectAnyNode } from '../../../src/platform/messaging/connect-any-node.js';
import { publishedProblems } from '../../support/message-validation.js';

export interface CapturedEvent {
  eventId: string;
  eventType: string;
  orderId: string;
  sequence: number | undefined;
  reason: string | undefined;
  /** Position among all deliveries to the capture queue: the order in which the broker routed them. */
  index: number;
}

/** A durable queue of the test bound to `Orders` with `Order.#`: survives stop_app and keeps what arrived meanwhile. */
const CAPTURE_QUEUE = 'faults.capture';
/** Distinct problems kept word for word; every message with one is counted. */
const KEPT_PROBLEMS = 20;

/**
 * Records every event the service publishes on the `Orders` exchange, every delivery of it (at-least-once
 * allows repeats), each checked against /asyncapi.json where the main suite's collectors check theirs
 * (message-validation.ts). The queue is declared before the service starts, so nothing published is missed; the
 * connection is re-established after a broker outage, and a message is acked only once recorded.
 */
export class EventCapture {
  readonly byOrder = new Map<string, CapturedEvent[]>();
  deliveries = 0;
  /** Deliveries that the broker flagged as redelivered to this queue (our own reconnects), not new publishes. */
  redeliveries = 0;
  /** Deliveries checked against /asyncapi.json, those it does not describe, and their first distinct problems. */
  checkedMessages = 0;
  undocumentedMessages = 0;
  private readonly messageProblems = new Set<string>();
  private readonly eventIds = new Set<string>();
  private model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private closed = false;
  lastDeliveryAt = Date.now();

  private constructor(
    private readonly url: string,
    private readonly queueOptions: Options.AssertQueue,
  ) {}

  /** `amqpUrl` may list several nodes: a lost connection goes to the next one that answers. */
  static async start(amqpUrl: string, queueOptions: Options.AssertQueue = { durable: true }): Promise<EventCapture> {
    const capture = new EventCapture(amqpUrl, queueOptions);
    await capture.connect();
    return capture;
  }

  get distinctEvents(): number {
    return this.eventIds.size;
  }

  has(eventId: string): boolean {
    return this.eventIds.has(eventId);
  }

  events(orderId: string): CapturedEvent[] {
    return this.byOrder.get(orderId) ?? [];
  }

  /** For the step's report, which fails on them: what /asyncapi.json says is wrong with the captured messages. */
  documentProblems(): string[] {
    if (this.undocumentedMessages === 0) return [];
    const problems = [...this.messageProblems].map((problem) => `a message /asyncapi.json does not describe: ${problem}`);
    return [...problems, `${this.undocumentedMessages} of ${this.checkedMessages} captured messages are not as /asyncapi.json describes`];
  }

  /** Consumers currently attached to a queue of the vhost (the simulator's readiness). */
  async consumerCount(queue: string): Promise<number> {
    return (await this.checkQueue(queue))?.consumerCount ?? 0;
  }

  /** Messages waiting in a queue of the vhost (not counting those delivered and not yet acked). */
  async queueDepth(queue: string): Promise<number | '?'> {
    return (await this.checkQueue(queue))?.messageCount ?? '?';
  }

  private async checkQueue(queue: string) {
    const channel = await this.model?.createChannel();
    if (!channel) return undefined;
    channel.on('error', () => undefined);
    try {
      return await channel.checkQueue(queue);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.model?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const model = await connectAnyNode(this.url, 5_000);
    model.once('close', () => {
      this.model = undefined;
      this.channel = undefined;
      if (!this.closed) void this.reconnect();
    });
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    await channel.assertExchange('Orders', 'topic', { durable: true });
    await channel.assertQueue(CAPTURE_QUEUE, this.queueOptions);
    // Order.#: the service's events; the simulator's replies (Customer.Saga.*) also pass through Orders.
    await channel.bindQueue(CAPTURE_QUEUE, 'Orders', 'Order.#');
    await channel.prefetch(2_000);
    await channel.consume(CAPTURE_QUEUE, (message) => message && this.record(channel, message));
    this.model = model;
    this.channel = channel;
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await sleep(Math.min(2_000, 200 * 2 ** attempt));
      try {
        await this.connect();
        return;
      } catch {
        // The broker is still away; keep trying.
      }
    }
  }

  private record(channel: Channel, message: ConsumeMessage): void {
    this.deliveries++;
    this.lastDeliveryAt = Date.now();
    if (message.fields.redelivered) this.redeliveries++;
    this.check(message);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(message.content.toString('utf8')) as Record<string, unknown>;
    } catch {
      body = { eventType: 'not JSON' }; // recorded as such; the end checks then find it matches no order
    }
    const raw = message.properties.headers?.['x-event-sequence'];
    const event: CapturedEvent = {
      eventId: String(body.eventID),
      eventType: String(body.eventType),
      orderId: String(body.orderID),
      sequence: raw === undefined ? undefined : Number(raw),
      reason: typeof body.reason === 'string' ? body.reason : undefined,
      index: this.deliveries,
    };
    this.eventIds.add(event.eventId);
    const list = this.byOrder.get(event.orderId);
    if (list) list.push(event);
    else this.byOrder.set(event.orderId, [event]);
    try {
      channel.ack(message);
    } catch {
      // The channel closed meanwhile: the broker delivers it again and it is recorded as a repeat.
    }
  }

  /** Against /asyncapi.json, as the service's user (the URL's) publishes it; problems wait for the report. */
  private check(message: ConsumeMessage): void {
    this.checkedMessages++;
    const problems = problemsOf(message, this.url);
    if (problems.length === 0) return;
    this.undocumentedMessages++;
    for (const problem of problems) if (this.messageProblems.size < KEPT_PROBLEMS) this.messageProblems.add(problem);
  }
}

/** A check that throws (an unreadable document) is a problem of the step too, not an end of the capture's consumer. */
function problemsOf(message: ConsumeMessage, amqpUrl: string): string[] {
  try {
    return publishedProblems(message, amqpUrl);
  } catch (error) {
    return [`message on ${message.fields.routingKey} not checked: ${String(error)}`];
  }
}
