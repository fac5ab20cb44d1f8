import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ChannelModel } from 'amqplib';
import { createLogger } from '../../src/platform/observability/logger.js';
import type { RabbitConnection } from '../../src/platform/messaging/rabbitmq-connection.js';
import { RabbitPublisher, type OutgoingMessage, type PublishOutcome } from '../../src/platform/messaging/rabbitmq-publisher.js';
import { ORDERS_EXCHANGE } from '../../src/platform/messaging/topology.js';

/**
 * RabbitPublisher.publishRuns against a scripted confirm channel: the test decides when the broker confirms or
 * refuses each message, so the order of sends can be checked step by step.
 */

interface Item {
  readonly exchange: string;
  readonly id: string;
}

/** A confirm channel whose confirms the test gives by hand. */
class ScriptedChannel extends EventEmitter {
  readonly published: string[] = [];
  private readonly callbacks = new Map<string, (error: Error | null) => void>();
  closed = false;

  publish(_exchange: string, _routingKey: string, _body: Buffer, options: { messageId: string }, callback: (error: Error | null) => void): boolean {
    this.published.push(options.messageId);
    this.callbacks.set(options.messageId, callback);
    return true;
  }

  confirm(id: string, error: Error | null = null): void {
    const callback = this.callbacks.get(id);
    if (!callback) throw new Error(`${id} was not published`);
    this.callbacks.delete(id);
    callback(error);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

async function publisherOn(channel: ScriptedChannel, timeoutMs = 5_000): Promise<RabbitPublisher> {
  // An exchange probe (checkExchange on a channel of its own) finds only the service's exchanges.
  const probe = Object.assign(new EventEmitter(), {
    checkExchange: async (name: string) => (name === ORDERS_EXCHANGE ? {} : Promise.reject(Object.assign(new Error('NOT_FOUND'), { code: 404 }))),
    close: async () => undefined,
  });
  const model = Object.assign(new EventEmitter(), { createConfirmChannel: async () => channel, createChannel: async () => probe }) as unknown as ChannelModel;
  const rabbit = { onConnect: async (hook: (model: ChannelModel) => Promise<void>) => hook(model) } as unknown as RabbitConnection;
  const publisher = new RabbitPublisher(rabbit, createLogger({ level: 'error', silent: true }), timeoutMs, 'order-service');
  await publisher.start();
  return publisher;
}

const item = (id: string): Item => ({ exchange: ORDERS_EXCHANGE, id });
const toMessage = (entry: Item): OutgoingMessage => ({
  exchange: entry.exchange,
  routingKey: 'Order.Test',
  body: Buffer.from('{}'),
  messageId: entry.id,
  type: 'Test',
  timestamp: 0,
  correlationId: null,
});
const ticks = () => new Promise((resolve) => setImmediate(resolve));
const byId = (outcomes: Map<Item, PublishOutcome>) => Object.fromEntries([...outcomes].map(([entry, outcome]) => [entry.id, outcome.ok ? 'ok' : outcome.reason]));

describe('publishing runs of messages on a confirm channel', () => {
  it("when a run's message is confirmed, then the run's next goes out at once, while another run's message is still unconfirmed", async () => {
    const channel = new ScriptedChannel();
    const publisher = await publisherOn(channel);
    const [a1, a2, a3, b1, b2] = ['a1', 'a2', 'a3', 'b1', 'b2'].map(item);
    const result = publisher.publishRuns([[a1!, a2!, a3!], [b1!, b2!]], toMessage);
    await ticks();
    expect(channel.published).toEqual(['a1', 'b1']);
    channel.confirm('a1');
    expect(channel.published).toEqual(['a1', 'b1', 'a2']);
    channel.confirm('a2');
    expect(channel.published).toEqual(['a1', 'b1', 'a2', 'a3']);
    channel.confirm('a3');
    channel.confirm('b1');
    channel.confirm('b2');
    expect(byId(await result)).toEqual({ a1: 'ok', a2: 'ok', a3: 'ok', b1: 'ok', b2: 'ok' });
    expect(channel.published).toEqual(['a1', 'b1', 'a2', 'a3', 'b2']);
  });

  it('when a message is refused, then the rest of its run is not sent and has no outcome, and other runs go on', async () => {
    const channel = new ScriptedChannel();
    const publisher = await publisherOn(channel);
    const [a1, a2, b1, b2] = ['a1', 'a2', 'b1', 'b2'].map(item);
    const result = publisher.publishRuns([[a1!, a2!], [b1!, b2!]], toMessage);
    await ticks();
    channel.confirm('a1', new Error('nack'));
    channel.confirm('b1');
    channel.confirm('b2');
    expect(byId(await result)).toEqual({ a1: 'nack', b1: 'ok', b2: 'ok' });
    expect(channel.published).toEqual(['a1', 'b1', 'b2']);
    expect(channel.closed).toBe(true); // a nack drops the channel (a quorum queue may keep refusing it)
  });

  it('when a confirm does not come in time, then that message is a timeout, the rest of its run is not sent, and a late confirm sends nothing', async () => {
    const channel = new ScriptedChannel();
    const publisher = await publisherOn(channel, 50);
    const [a1, a2, b1, b2] = ['a1', 'a2', 'b1', 'b2'].map(item);
    const result = publisher.publishRuns([[a1!, a2!], [b1!, b2!]], toMessage);
    await ticks();
    channel.confirm('b1');
    channel.confirm('b2');
    expect(byId(await result)).toEqual({ a1: 'timeout', b1: 'ok', b2: 'ok' });
    channel.confirm('a1');
    expect(channel.published).toEqual(['a1', 'b1', 'b2']);
  });

  it("when a run's exchange does not exist, then that run is not sent and its first message says so", async () => {
    const channel = new ScriptedChannel();
    const publisher = await publisherOn(channel);
    const missing = { exchange: 'NoSuchExchange', id: 'x1' };
    const result = publisher.publishRuns([[missing, item('x2')], [item('b1')]], toMessage);
    await ticks();
    channel.confirm('b1');
    expect(byId(await result)).toEqual({ x1: 'no_exchange', b1: 'ok' });
    expect(channel.published).toEqual(['b1']);
  });
});
