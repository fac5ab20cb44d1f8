import amqp from 'amqplib';
import { publishedProblems } from './message-validation.js';

export interface TappedEvent {
  routingKey: string;
  messageId: string;
  orderId: string | undefined;
  /** Header values as text. */
  headers: Record<string, string>;
}

export interface EventTap {
  /** The first event of the order with this routing key, if it arrived. */
  find(orderId: string, routingKey: string): TappedEvent | undefined;
  /** Every event of the order so far, in arrival order. */
  of(orderId: string): TappedEvent[];
  /** What /asyncapi.json does not describe in the messages seen so far (only with `checkAgainstDocument`). */
  problems: readonly string[];
  close(): Promise<void>;
}

/**
 * Watches every message on the Orders exchange (events and saga requests) through a queue of its own. With
 * `checkAgainstDocument`, each is also checked against /asyncapi.json (off for benchmarks, which only count).
 */
export async function tapEvents(amqpUrl: string, options: { checkAgainstDocument?: boolean } = {}): Promise<EventTap> {
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, 'Orders', 'Order.#');
  const events: TappedEvent[] = [];
  const problems: string[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      if (options.checkAgainstDocument) problems.push(...publishedProblems(message, amqpUrl));
      const headers = Object.fromEntries(Object.entries(message.properties.headers ?? {}).map(([key, value]) => [key, String(value)]));
      const body = JSON.parse(message.content.toString('utf8')) as { orderID?: string };
      events.push({ routingKey: message.fields.routingKey, messageId: String(message.properties.messageId), orderId: body.orderID, headers });
    },
    { noAck: true },
  );
  return {
    find: (orderId, routingKey) => events.find((event) => event.orderId === orderId && event.routingKey === routingKey),
    of: (orderId) => events.filter((event) => event.orderId === orderId),
    problems,
    close: () => connection.close(),
  };
}
