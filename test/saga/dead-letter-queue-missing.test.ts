import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { eventually, publishReply, startBackgroundRoles } from '../support/workload.js';

let t: TestService;
let stopRoles: () => Promise<void>;
beforeAll(async () => {
  t = await startTestService();
  stopRoles = await startBackgroundRoles(t);
});
afterAll(async () => {
  await stopRoles();
  await t.close();
});

async function messageCount(queue: string): Promise<number | undefined> {
  const connection = await amqp.connect(t.amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return (await channel.checkQueue(queue)).messageCount;
  } catch {
    return undefined;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe('dead-lettering when the dead-letter queue is missing', () => {
  it('when CustomerSaga.dead was deleted, then a poison reply is kept on CustomerSaga, and reaches the dead queue once it exists again', async () => {
    const connection = await amqp.connect(t.amqpUrl);
    const channel = await connection.createChannel();
    await channel.deleteQueue('CustomerSaga.dead');

    await publishReply(t, 'this is not json');
    // The copy comes back unroutable: the original must not be acknowledged (it would be lost), so it goes back to
    // CustomerSaga and is tried again until the dead queue exists.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await messageCount('CustomerSaga.dead')).toBeUndefined();

    await channel.assertQueue('CustomerSaga.dead', { durable: true });
    await eventually('the poison reply in CustomerSaga.dead', async () => (await messageCount('CustomerSaga.dead')) === 1);
    await eventually('CustomerSaga to empty', async () => (await messageCount('CustomerSaga')) === 0);
    await connection.close();
  });
});
