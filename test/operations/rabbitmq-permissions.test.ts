import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import amqp, { type Channel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, seedCatalog } from '../support/fixtures.js';
import { eventually } from '../support/polling.js';
import { drainQueue } from '../support/rabbitmq.js';
import { importShippedDefinitions, type ImportedDefinitions } from '../support/rabbitmq-definitions.js';

// configs/rabbitmq/definitions.json as docker-compose loads it, imported into this broker under names of the
// run: the service works with its user's permissions, and the customer user can do what a customer service
// does (take saga requests, publish replies) and nothing else.

let defs: ImportedDefinitions;
let t: TestService;
const roles: RunningRole[] = [];
let sim: ChildProcess | undefined;
beforeAll(async () => {
  defs = await importShippedDefinitions();
  t = await startTestService({ AMQP_URL: defs.serviceUrl });
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(15_000);
  for (const role of ['relay', 'consumers', 'scheduler'] as const) roles.push(await ROLE_STARTERS[role](t.service));
}, 120_000);
afterAll(async () => {
  if (sim && sim.exitCode === null && sim.signalCode === null) process.kill(-sim.pid!, 'SIGKILL');
  for (const role of roles.reverse()) await role.stop();
  await t?.close();
  await defs?.remove();
});

/** Runs an operation as the customer user on a channel of its own; resolves to the broker's refusal code, if any. */
async function asCustomer(operation: (channel: Channel) => Promise<unknown>): Promise<number | undefined> {
  const connection = await amqp.connect(defs.customerUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const closed = once(channel, 'error').then(([error]) => (error as { code?: number }).code);
    const outcome = await Promise.race([operation(channel).then(() => undefined), closed]).catch((error: { code?: number }) => error.code ?? -1);
    // A refused publish closes the channel asynchronously; a confirm round trip makes sure it would have arrived.
    if (outcome === undefined) return await Promise.race([channel.waitForConfirms().then(() => undefined), closed]).catch(() => -1);
    return outcome;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe('least-privilege RabbitMQ users of configs/rabbitmq/definitions.json', () => {
  it('when the customer user tries what only the service may do, then the broker refuses each with 403', async () => {
    const body = Buffer.from('{}');
    expect(await asCustomer(async (channel) => channel.publish('Orders', 'Order.Create', body))).toBe(403);
    expect(await asCustomer(async (channel) => channel.publish('Orders', 'Order.Saga.Create', body))).toBe(403);
    expect(await asCustomer(async (channel) => channel.sendToQueue('Orders', body))).toBe(403);
    expect(await asCustomer(async (channel) => channel.sendToQueue('CustomerSaga', body))).toBe(403);
    expect(await asCustomer((channel) => channel.consume('CustomerSaga', () => undefined))).toBe(403);
    expect(await asCustomer((channel) => channel.consume('Orders', () => undefined))).toBe(403);
    expect(await asCustomer((channel) => channel.assertQueue('customer-made-queue'))).toBe(403);
    expect(await asCustomer((channel) => channel.deleteQueue('OrderSaga'))).toBe(403);
    // What it is there for is allowed.
    expect(await asCustomer(async (channel) => channel.publish('Orders', 'Customer.Saga.Reply', Buffer.from('not json')))).toBeUndefined();
    expect(await asCustomer((channel) => channel.checkQueue('OrderSaga'))).toBeUndefined();
    await eventually('the customer\'s reply dead-lettered by the service', async () => (await drainQueue(defs.serviceUrl, 'CustomerSaga.dead')).length === 1);
  });

  it('when the service runs as its user and the simulator as the customer user, then an order is approved and projected', async () => {
    const catalog = await seedCatalog(t);
    sim = spawn('npx', ['tsx', 'src/tools/customer-sim.ts', '--rule', 'approve-all'], {
      env: { ...process.env, AMQP_URL: 'amqp://nobody:wrong@127.0.0.1:1', CUSTOMER_AMQP_URL: defs.customerUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    sim.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    sim.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    const db = await connectPg(t.databaseUrl);
    try {
      await eventually('the order approved by the simulator', async () => (await db.query('SELECT saga_status FROM orders WHERE id = $1', [body.orderID])).rows[0]?.saga_status === 'Approved', 20_000).catch((error) => { console.log(output); throw error; });
    } finally {
      await db.end();
    }
    await eventually('the order in its user\'s list', async () => (await t.http.get(`/api/v1/orders/user/${catalog.userId}`)).body.total === 1);
    const exited = once(sim, 'exit');
    process.kill(-sim.pid!, 'SIGINT');
    await exited;
    expect(output).toContain(`answering OrderSaga on amqp://${defs.users.customer}:***@`);
    expect(output).toContain('customer-sim stopped: requests 1  approved 1  rejected 0');
  }, 120_000);
});
