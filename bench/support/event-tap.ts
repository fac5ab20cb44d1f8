/**
 * A listener on the `Orders` exchange: an exclusive queue of its own bound with `#`, so it gets a copy of every
 * order event as the broker routes it (taking nothing from the service's queues), and notes when each arrived
 * here, per order and event type (a saga reply, which has none, as its orderType: 'Approved'), on this process's
 * performance.now() clock. Lets a round trip be split into its hops.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { ORDERS_EXCHANGE } from '../../src/platform/messaging/topology.js';

export class EventTap {
  /** orderID -> eventType -> performance.now() of the first copy received. */
  readonly seen = new Map<string, Map<string, number>>();
  /** Every copy received, counted (messages published to the exchange, whatever their body). */
  received = 0;

  private constructor(private readonly connection: ChannelModel) {}

  static async start(amqpUrl: string): Promise<EventTap> {
    const connection = await amqp.connect(amqpUrl, { noDelay: true });
    const tap = new EventTap(connection);
    const channel = await connection.createChannel();
    await channel.assertExchange(ORDERS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, ORDERS_EXCHANGE, '#');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        tap.received++;
        const now = performance.now();
        const { orderID, eventType, orderType } = JSON.parse(message.content.toString()) as { orderID?: string; eventType?: string; orderType?: string };
        const kind = eventType ?? orderType;
        if (!orderID || !kind) return;
        const events = tap.seen.get(orderID) ?? new Map<string, number>();
        if (!events.has(kind)) events.set(kind, now);
        tap.seen.set(orderID, events);
      },
      { noAck: true },
    );
    return tap;
  }

  /** When the order's first event of this type arrived, if it did. */
  at(orderId: string, eventType: string): number | undefined {
    return this.seen.get(orderId)?.get(eventType);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
