import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { eventually } from '../support/polling.js';
import { failOn, publishedProblems } from '../support/message-validation.js';

export interface ReceivedEvent {
  body: Record<string, unknown> & { eventID: string; eventType: string; orderID: string };
  routingKey: string;
  properties: ConsumeMessage['properties'];
  redelivered: boolean;
}

export interface EventCollector {
  /** Every delivery; reading it (or waiting, or closing) fails if one the service published is not as /asyncapi.json says. */
  readonly events: ReceivedEvent[];
  /** Distinct events (by eventID) in the order they were first received. */
  firstSeen(): ReceivedEvent[];
  /** Polls until the predicate holds; the deadline only stops a hung test, it never decides a result. */
  waitFor(what: string, predicate: (events: ReceivedEvent[]) => boolean, deadlineMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A test consumer on its own durable queue bound to the Orders exchange (every routing key by default), so one
 * queue sees an order's events from all routing keys in broker order. It acknowledges after recording and
 * re-subscribes after its connection is closed, so killed connections cost duplicates, never losses.
 */
export async function collectEvents(amqpUrl: string, queue = 'relay-test.all', pattern = '#'): Promise<EventCollector> {
  const events: ReceivedEvent[] = [];
  const problems: string[] = [];
  let channel: Channel | undefined;
  const model = await amqp.connect(amqpUrl, {
    recovery: {
      initialDelay: 100,
      maxDelay: 1_000,
      setup: async (connection: ChannelModel) => {
        channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await channel.assertExchange('Orders', 'topic', { durable: true });
        await channel.assertQueue(queue, { durable: true });
        await channel.bindQueue(queue, 'Orders', pattern);
        await channel.prefetch(1_000);
        const consuming = channel;
        await consuming.consume(queue, (message) => {
          if (!message) return;
          problems.push(...publishedProblems(message, amqpUrl));
          events.push({
            body: JSON.parse(message.content.toString('utf8')),
            routingKey: message.fields.routingKey,
            properties: message.properties,
            redelivered: message.fields.redelivered,
          });
          try {
            consuming.ack(message);
          } catch {
            // The channel died under us: the broker redelivers it, and the duplicate is recorded and ignored.
          }
        });
      },
    },
  });
  model.on('error', () => undefined);

  return {
    get events() {
      failOn(problems);
      return events;
    },
    firstSeen() {
      failOn(problems);
      const seen = new Set<string>();
      return events.filter((event) => !seen.has(event.body.eventID) && seen.add(event.body.eventID));
    },
    async waitFor(what, predicate, deadlineMs = 60_000) {
      const deadline = Date.now() + deadlineMs;
      while (!predicate(events)) {
        failOn(problems);
        if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (${events.length} events received)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      await model.close().catch(() => undefined);
      failOn(problems);
    },
  };
}

export { eventually };
