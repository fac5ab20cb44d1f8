import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp, { type GetMessage } from 'amqplib';
import { inject } from 'vitest';
import { assertPublishedAsDocumented } from './message-validation.js';
import { rabbitmqctlCommand, type RabbitmqctlCommand } from './rabbitmq-admin.js';

const run = promisify(execFile);
const BROKER = process.env.TEST_AMQP_BASE ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * A RabbitMQ virtual host of one test file: the contract's exchange and queue names stay exact, and files
 * running in parallel never see each other's messages. delete() removes the vhost and everything in it.
 */
export async function createTestVhost(): Promise<{ name: string; url: string; delete(): Promise<void> }> {
  const name = `os_test_${inject('testRunId')}_${randomBytes(4).toString('hex')}`;
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  return {
    name,
    url: `${BROKER}/${encodeURIComponent(name)}`,
    delete: () => rabbitmqctl('delete_vhost', name).then(() => undefined),
  };
}

let admin: RabbitmqctlCommand | undefined;

/** rabbitmqctl, against the broker of TEST_AMQP_BASE (see rabbitmq-admin.ts). */
export function rabbitmqctl(...args: string[]): Promise<string> {
  return rabbitmqctlWithInput('', ...args);
}

/** rabbitmqctl with text on its standard input: a file of this machine's is not visible to a broker in Docker. */
export async function rabbitmqctlWithInput(input: string, ...args: string[]): Promise<string> {
  admin ??= rabbitmqctlCommand(BROKER);
  const pending = run(admin.file, [...admin.args, ...args], { timeout: 30_000, env: admin.env });
  pending.child.stdin?.end(input);
  const { stdout } = await pending;
  return stdout;
}

/**
 * Takes every message now in a queue (acknowledging them). Each one the service published (a saga request, a
 * dead letter) must be what /asyncapi.json says, or this throws.
 */
export async function drainQueue(amqpUrl: string, queue: string): Promise<GetMessage[]> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    const messages: GetMessage[] = [];
    for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
      messages.push(message);
      channel.ack(message);
    }
    for (const message of messages) assertPublishedAsDocumented(message, amqpUrl);
    return messages;
  } finally {
    await connection.close();
  }
}

/** Messages ready in a queue now. */
export async function queueDepth(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl);
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

/** Consumers attached to a queue now. */
export async function consumerCount(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl);
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).consumerCount;
  } finally {
    await connection.close();
  }
}

export interface TestUser {
  name: string;
  /** amqp URL of this user on the vhost. */
  url: string;
  delete(): Promise<void>;
}

/**
 * A second RabbitMQ user with the given permissions on a test vhost (another service, or a careless or hostile
 * publisher). delete() removes it. The name is unique to the run, so parallel files never share one.
 */
export async function createTestUser(vhost: string, permissions: { configure: string; write: string; read: string }): Promise<TestUser> {
  const name = `os_test_user_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await rabbitmqctl('add_user', name, password);
  await rabbitmqctl('set_permissions', '-p', vhost, name, permissions.configure, permissions.write, permissions.read);
  const base = new URL(BROKER);
  return {
    name,
    url: `amqp://${name}:${password}@${base.host}/${encodeURIComponent(vhost)}`,
    delete: () => rabbitmqctl('delete_user', name).then(() => undefined),
  };
}
