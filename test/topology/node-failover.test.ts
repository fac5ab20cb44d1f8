import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestUser, createTestVhost, rabbitmqctl, type TestUser } from '../support/rabbitmq.js';
import { captureLogs } from '../support/log-capture.js';
import { eventually } from '../support/polling.js';
import { freePorts } from '../faults/support/environment.js';
import { RabbitConnection } from '../../src/platform/messaging/rabbitmq-connection.js';

let vhost: Awaited<ReturnType<typeof createTestVhost>>;
let user: TestUser;

beforeAll(async () => {
  vhost = await createTestVhost();
  user = await createTestUser(vhost.name, { configure: '.*', write: '.*', read: '.*' });
});
afterAll(async () => {
  await user?.delete();
  await vhost?.delete();
});

describe('a connection to several nodes', () => {
  it('when the first node listed is down, then it connects to the next, comes back there after losing the connection, and never logs a password', async () => {
    const [closedPort] = await freePorts(1);
    const live = new URL(user.url);
    const dead = new URL(user.url);
    dead.port = String(closedPort);
    const logs = captureLogs('debug');
    const rabbit = new RabbitConnection(`${dead},${live}`, logs.logger, 2_000);
    try {
      await rabbit.start();
      await rabbit.waitForConnection(20_000);
      expect(rabbit.node).toBe(`amqp://${live.host}${live.pathname}`);

      await rabbitmqctl('close_all_connections', '--vhost', vhost.name, 'failover test');
      // The window without a connection is short (the next attempt follows at once): the log says it was lost.
      await eventually('the connection lost', async () => logs.entries.some((entry) => entry.message === 'rabbitmq connection lost; reconnecting'));
      // The dead node is next in turn; it is tried, then the live one again.
      await rabbit.waitForConnection(20_000);
      expect(rabbit.node).toBe(`amqp://${live.host}${live.pathname}`);
      const said = logs.entries.map((entry) => JSON.stringify(entry));
      expect(said.some((line) => line.includes(`127.0.0.1:${closedPort}`))).toBe(true);
      expect(said.filter((line) => line.includes(decodeURIComponent(live.password)))).toEqual([]);
    } finally {
      await rabbit.close();
    }
  });
});
