import amqp from 'amqplib';
import { failOn, publishedProblems } from './message-validation.js';

export interface TappedEvent {
  routingKey: string;
  messageId: string;
  orderId: string | undefined;
  /** Header values as text. */
  headers: Record<string, string>;
}

/** Reading (find, of) or closing fails if a message the service published is not as /asyncapi.json says. */
export interface EventTap {
  /** The first event of the order with this routing key, if it arrived. */
  find(orderId: string, routingKey: string): TappedEvent | undefined;
  /** Every event of the order so far, in arrival order. */
  of(orderId: string): TappedEvent[];
  close(): Promise<void>;
}

/**
 * Watches every message on the Orders exchange (events and saga requests) through a queue of its own, each checked
 * against /asyncapi.json where every collector of the suite checks them (message-validation.ts).
 */
export async function tapEvents(amqpUrl: string): Promise<EventTap> {
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
      problems.push(...publishedProblems(message, amqpUrl));
      const headers = Object.fromEntries(Object.entries(message.properties.headers ?? {}).map(([key, value]) => [key, String(value)]));
      events.push({ routingKey: message.fields.routingKey, messageId: String(message.properties.messageId), orderId: orderIdOf(message.content), headers });
    },
    { noAck: true },
  );
  return {
    find: (orderId, routingKey) => (failOn(problems), events.find((event) => event.orderId === orderId && event.routingKey === routingKey)),
    of: (orderId) => (failOn(problems), events.filter((event) => event.orderId === orderId)),
    close: async () => {
      await connection.close().catch(() => undefined);
      failOn(problems);
    },
  };
}

/** The body's orderID; a body that is not JSON (a problem the check above reports) names no order. */
function orderIdOf(content: Buffer): string | undefined {
  try {
    return (JSON.parse(content.toString('utf8')) as { orderID?: string }).orderID;
  } catch {
    return undefined;
  }
}
