import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { drainQueue } from '../support/rabbitmq.js';
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

describe('dead-lettering when the dead-letter queue is missing', () => {
  it('when CustomerSaga.dead was deleted, then the consumer declares it again and the poison reply reaches it with its reason', async () => {
    const connection = await amqp.connect(t.amqpUrl);
    const channel = await connection.createChannel();
    await channel.deleteQueue('CustomerSaga.dead');

    await publishReply(t, 'this is not json', { messageId: 'poison-after-delete' });
    // Without the dead queue the copy would come back unroutable and the broker's own dead-lettering would drop the
    // message: the consumer declares the queue (and its binding) again first.
    const [dead] = await eventually('the poison reply in CustomerSaga.dead', async () => {
      const messages = await drainQueue(t.amqpUrl, 'CustomerSaga.dead').catch(() => []);
      return messages.length > 0 ? messages : undefined;
    });
    expect(dead!.properties.messageId).toBe('poison-after-delete');
    expect(dead!.properties.headers?.['x-dead-letter-reason']).toBe('malformed_json');
    expect((await channel.checkQueue('CustomerSaga')).messageCount).toBe(0);
    await connection.close();
  });
});
