import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { rabbitmqctl } from '../support/rabbitmq.js';
import { eventually } from './event-collector.js';

let t: TestService;
let vhost: string;
let connection: ChannelModel;
let channel: ConfirmChannel;

async function openTestChannel(): Promise<void> {
  connection = await amqp.connect(t.amqpUrl);
  connection.on('error', () => undefined);
  channel = await connection.createConfirmChannel();
  channel.on('error', () => undefined);
}

beforeAll(async () => {
  t = await startTestService();
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
  vhost = decodeURIComponent(new URL(t.amqpUrl).pathname.slice(1));
  await openTestChannel();
});
afterAll(async () => {
  await connection?.close().catch(() => undefined);
  await t.close();
});

interface QueueInfo {
  name: string;
  durable: boolean;
  arguments: Record<string, unknown>;
}
async function listQueues(): Promise<Map<string, QueueInfo>> {
  const json = await rabbitmqctl('list_queues', '--vhost', vhost, 'name', 'durable', 'arguments', '--formatter', 'json', '--quiet');
  // rabbitmqctl writes each argument as [name, AMQP type, value].
  const queues = JSON.parse(json) as { name: string; durable: boolean; arguments: [string, string, unknown][] }[];
  return new Map(
    queues.map((queue) => [
      queue.name,
      { name: queue.name, durable: queue.durable, arguments: Object.fromEntries(queue.arguments.map(([key, , value]) => [key, value])) },
    ]),
  );
}

/** Which of the contract's queues a message published with this routing key lands in. */
async function queuesReached(routingKey: string): Promise<string[]> {
  channel.publish('Orders', routingKey, Buffer.from('{}'), { mandatory: true });
  await channel.waitForConfirms();
  const reached: string[] = [];
  for (const queue of ['Orders', 'OrderSaga', 'CustomerSaga']) {
    const message = await channel.get(queue, { noAck: true });
    if (message) reached.push(queue);
  }
  return reached;
}

describe('the RabbitMQ topology', () => {
  it('when the service connects, then Orders is a durable topic exchange and each queue is durable and bound as CONTRACT.md says', async () => {
    const exchanges = JSON.parse(await rabbitmqctl('list_exchanges', '--vhost', vhost, 'name', 'type', 'durable', '--formatter', 'json', '--quiet')) as {
      name: string;
      type: string;
      durable: boolean;
    }[];
    expect(exchanges.find((exchange) => exchange.name === 'Orders')).toEqual({ name: 'Orders', type: 'topic', durable: true });

    const queues = await listQueues();
    for (const name of ['Orders', 'OrderSaga', 'CustomerSaga', 'Orders.dead', 'CustomerSaga.dead']) expect(queues.get(name)?.durable, name).toBe(true);
    expect(await queuesReached('Order.Create')).toEqual(['Orders']);
    expect(await queuesReached('Order.AddProduct')).toEqual(['Orders']);
    // `Order.*` is one word: the saga requests go to OrderSaga only.
    expect(await queuesReached('Order.Saga.Create')).toEqual(['OrderSaga']);
    expect(await queuesReached('Customer.Saga.Reply')).toEqual(['CustomerSaga']);
  });

  it('when a consumed queue rejects a message, then it lands in the queue of the same name with .dead, with the reason in x-death', async () => {
    const queues = await listQueues();
    // QUEUE_TYPE's default: quorum everywhere; a delivery limit only where a dead-letter queue takes what passes it.
    expect(queues.get('OrderSaga')?.arguments).toEqual({ 'x-queue-type': 'quorum' });
    for (const dead of ['CustomerSaga.dead', 'Orders.dead']) expect(queues.get(dead)?.arguments).toEqual({ 'x-queue-type': 'quorum' });
    for (const queue of ['CustomerSaga', 'Orders']) {
      expect(queues.get(queue)?.arguments).toEqual({
        'x-queue-type': 'quorum',
        'x-delivery-limit': 20,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-dead-letter-exchange': 'Orders.dead-letters',
        'x-dead-letter-routing-key': queue,
      });
      // Reachable by name through the default exchange too, as a person at the management page would publish.
      channel.sendToQueue(queue, Buffer.from(`{"poison":"${queue}"}`), { persistent: true });
      await channel.waitForConfirms();
      const message = await eventually(`a message on ${queue}`, () => channel.get(queue));
      channel.nack(message, false, false);
      const dead = await eventually(`the message on ${queue}.dead`, () => channel.get(`${queue}.dead`, { noAck: true }));
      expect(dead.content.toString()).toBe(`{"poison":"${queue}"}`);
      const [death] = dead.properties.headers?.['x-death'] as { reason: string; queue: string }[];
      expect(death).toMatchObject({ reason: 'rejected', queue });
    }
  });

  it('when the broker closes the connection after a queue was deleted, then the service reconnects and declares everything again', async () => {
    await channel.deleteQueue('OrderSaga');
    await rabbitmqctl('close_all_connections', '--vhost', vhost, 'topology test');
    await eventually('the OrderSaga queue declared again', async () => (await listQueues()).has('OrderSaga'));
    await eventually('the service reconnected', async () => t.service.rabbit.isConnected);

    await openTestChannel();
    expect(await queuesReached('Order.Saga.Create')).toEqual(['OrderSaga']);
    const queues = await listQueues();
    expect(queues.get('CustomerSaga')?.arguments).toMatchObject({ 'x-dead-letter-routing-key': 'CustomerSaga' });
  });
});
