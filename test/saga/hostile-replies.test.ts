import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqp, { type GetMessage, type Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, drainQueue, eventually, publishReplies, sagaStatus, startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { createTestUser, queueDepth, type TestUser } from '../support/rabbitmq.js';
import { captureLogs, type CapturedLogs } from '../support/log-capture.js';
import { amqpUser } from '../../src/platform/messaging/amqp-url.js';
import { UNREADABLE_HEADERS } from '../../src/platform/messaging/amqp-header-guard.js';

const run = promisify(execFile);

// Each case of issue 11, published exactly as it was reproduced, between real approvals of other orders: the
// hostile message must end where it belongs, and every approval around it must be applied exactly once.

let h: SagaHarness;
let logs: CapturedLogs;
let stranger: TestUser;
beforeAll(async () => {
  logs = captureLogs('warn');
  h = await startSagaHarness({}, { logger: logs.logger });
  // Another RabbitMQ user allowed to publish on the vhost, as a customer service (or anyone) could be.
  stranger = await createTestUser(h.t.vhost, { configure: '^$', write: '.*', read: '^$' });
});
afterAll(async () => {
  if (process.env.DEBUG_LOGS) for (const entry of logs.entries) console.log(JSON.stringify(entry).slice(0, 400));
  await stranger?.delete();
  await h?.close();
});

const OUTCOMES = ['applied', 'duplicate', 'ignored', 'retried', 'dead_lettered'] as const;
type Tally = Record<(typeof OUTCOMES)[number], number>;

async function tally(): Promise<Tally> {
  const entries = await Promise.all(OUTCOMES.map(async (outcome) => [outcome, await counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome })]));
  return Object.fromEntries(entries) as Tally;
}

/** Three pending orders; their approvals go out around the hostile message. */
async function pendingOrders(count = 3): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await h.createOrder());
  return ids;
}

const approval = (orderId: string) => ({ body: { orderID: orderId, orderType: 'Approved' }, messageId: randomUUID() });

/** Publishes one raw message on CustomerSaga with the given properties, on its own connection (as `url`'s user). */
async function publishRaw(url: string, body: Buffer | string, properties: Options.Publish): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue('CustomerSaga', typeof body === 'string' ? Buffer.from(body) : body, { persistent: true, ...properties });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/**
 * Publishes on CustomerSaga a message whose headers nest `depth` tables deep, from a node process with a larger
 * stack: amqplib encodes tables by recursion too, and this process's stack would not hold it.
 */
async function publishWithDeepHeaders(url: string, body: string, messageId: string, depth: number): Promise<void> {
  const script = `
    const amqp = require('amqplib');
    (async () => {
      let headers = {};
      for (let level = 0; level < ${depth}; level++) headers = { a: headers };
      const connection = await amqp.connect(process.env.URL);
      const channel = await connection.createConfirmChannel();
      channel.sendToQueue('CustomerSaga', Buffer.from(${JSON.stringify(body)}), { persistent: true, messageId: ${JSON.stringify(messageId)}, headers: { deep: headers } });
      await channel.waitForConfirms();
      await connection.close();
    })().catch((error) => { console.error(error); process.exit(1); });`;
  await run(process.execPath, ['--stack-size=6000', '-e', script], { env: { ...process.env, URL: url }, timeout: 30_000 });
}

/** Waits until every order is approved and, with deadCount > 0, takes that many messages from the dead queue. */
async function settle(orderIds: string[], deadCount: number): Promise<GetMessage[]> {
  await eventually('every approval applied', async () => (await Promise.all(orderIds.map((id) => sagaStatus(h.db, id)))).every((s) => s === 'Approved'));
  const dead: GetMessage[] = [];
  if (deadCount === 0) return dead;
  await eventually(`${deadCount} message(s) in CustomerSaga.dead`, async () => {
    dead.push(...(await drainQueue(h.t.amqpUrl, 'CustomerSaga.dead')));
    return dead.length >= deadCount;
  });
  return dead;
}

/** Since `before`: each approval applied once, nothing handled twice or retried, `dead` dead-lettered. */
async function expectEachAppliedOnce(before: Tally, approvals: number, dead: number): Promise<void> {
  const now = await tally();
  expect({
    applied: now.applied - before.applied,
    duplicate: now.duplicate - before.duplicate,
    ignored: now.ignored - before.ignored,
    retried: now.retried - before.retried,
    dead_lettered: now.dead_lettered - before.dead_lettered,
  }).toEqual({ applied: approvals, duplicate: 0, ignored: 0, retried: 0, dead_lettered: dead });
  expect(await drainQueue(h.t.amqpUrl, 'CustomerSaga')).toEqual([]);
}

describe('hostile and careless saga replies', () => {
  it('when a malformed reply carries another user\'s validated user_id, then it is dead-lettered once (user_id kept as a header) and the replies around it are applied once', async () => {
    const orders = await pendingOrders();
    const before = await tally();
    await publishReplies(h.t.amqpUrl, [approval(orders[0]!)]);
    await publishRaw(stranger.url, '{"orderID": "broken', { userId: stranger.name, messageId: 'poison-user-id' });
    await publishReplies(h.t.amqpUrl, orders.slice(1).map(approval));

    const [dead] = await settle(orders, 1);
    expect(dead!.properties.messageId).toBe('poison-user-id');
    // The copy's own user_id is the service's (the broker vouches for it): the dead-letters tool trusts its headers by it.
    expect(dead!.properties.userId).toBe(amqpUser(h.t.amqpUrl));
    expect(dead!.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'malformed_json', 'x-original-user-id': stranger.name, 'x-original-queue': 'CustomerSaga' });
    await expectEachAppliedOnce(before, orders.length, 1);
  });

  it('when a malformed reply has a header of 65,000 bytes, then the copy leaves that header off, names it, and reaches the dead queue once', async () => {
    const orders = await pendingOrders();
    const before = await tally();
    await publishReplies(h.t.amqpUrl, [approval(orders[0]!)]);
    await publishRaw(h.t.amqpUrl, 'not json', { messageId: 'poison-big-header', headers: { huge: 'x'.repeat(65_000), small: 'kept' } });
    await publishReplies(h.t.amqpUrl, orders.slice(1).map(approval));

    const [dead] = await settle(orders, 1);
    const headers = dead!.properties.headers ?? {};
    expect(headers).toMatchObject({ 'x-dead-letter-reason': 'malformed_json', 'x-dead-letter-dropped-headers': 'huge', small: 'kept' });
    expect(headers.huge).toBeUndefined();
    expect(dead!.content.toString()).toBe('not json');
    await expectEachAppliedOnce(before, orders.length, 1);
  });

  it('when a malformed reply carries CC naming its own queue and another, then its copy reaches the dead queue once, routes nowhere else, and keeps the list as x-original-cc', async () => {
    const orders = await pendingOrders();
    const before = await tally();
    const ordersBefore = await queueDepth(h.t.amqpUrl, 'Orders');
    await publishReplies(h.t.amqpUrl, [approval(orders[0]!)]);
    // Sender-selected distribution: the broker routes a message by its CC header too, on any exchange.
    await publishRaw(h.t.amqpUrl, 'not json', { messageId: 'poison-cc', headers: { CC: ['CustomerSaga', 'Orders'] } });
    await publishReplies(h.t.amqpUrl, orders.slice(1).map(approval));

    const [dead] = await settle(orders, 1);
    expect(dead!.properties.headers?.CC).toBeUndefined();
    expect(dead!.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'malformed_json', 'x-original-cc': ['CustomerSaga', 'Orders'] });
    // A copy that carried CC would come back to CustomerSaga (dead-lettered again, and again) and reach Orders.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await queueDepth(h.t.amqpUrl, 'CustomerSaga.dead')).toBe(0);
    expect(await queueDepth(h.t.amqpUrl, 'Orders')).toBe(ordersBefore);
    await expectEachAppliedOnce(before, orders.length, 1);
  });

  it('when a malformed reply carries forged dead-letter headers and one the copy cannot encode, then its copy goes without the original headers and names them', async () => {
    const orders = await pendingOrders();
    const before = await tally();
    await publishReplies(h.t.amqpUrl, [approval(orders[0]!)]);
    // A table holding a "!" key: amqplib reads it back as a typed value of no known type, and cannot encode it again.
    // Were the copy refused for it, the broker would dead-letter the original with the forged headers intact.
    const forged = { 'x-original-queue': 'Orders', 'x-original-user-id': amqpUser(h.t.amqpUrl), 'x-dead-letter-reason': 'handler_error' };
    await publishRaw(stranger.url, 'not json', { messageId: 'poison-unencodable', headers: { ...forged, poison: { '!': 'object', value: { '!': 'bogus' } }, plain: 'p' } });
    await publishReplies(h.t.amqpUrl, orders.slice(1).map(approval));

    const [dead] = await settle(orders, 1);
    const headers = dead!.properties.headers ?? {};
    expect(dead!.properties.userId).toBe(amqpUser(h.t.amqpUrl));
    expect(headers).toMatchObject({ 'x-dead-letter-reason': 'malformed_json', 'x-original-queue': 'CustomerSaga', 'x-dead-letter-dropped-headers': 'poison,plain' });
    expect([headers.poison, headers.plain, headers['x-original-user-id']]).toEqual([undefined, undefined, undefined]);
    await expectEachAppliedOnce(before, orders.length, 1);
  });

  it('when a malformed reply\'s headers nest 6,000 tables deep, then the consumer reads it without them, its copy says so, and the replies around it are applied once', async () => {
    const orders = await pendingOrders();
    const before = await tally();
    await publishReplies(h.t.amqpUrl, [approval(orders[0]!)]);
    // amqplib decodes a table by recursion: unguarded, these headers overflow the stack in the socket's reader and
    // close the whole connection, on every delivery of the message.
    await publishWithDeepHeaders(stranger.url, 'not json', 'poison-deep', 6_000);
    await publishReplies(h.t.amqpUrl, orders.slice(1).map(approval));

    const [dead] = await settle(orders, 1);
    expect(dead!.properties.messageId).toBe('poison-deep');
    expect(dead!.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'malformed_json', ...UNREADABLE_HEADERS });
    await expectEachAppliedOnce(before, orders.length, 1);
  });

  it('when two approvals for two orders share a message id, then both are applied, each has its inbox row, and the reuse is logged as a warning', async () => {
    const orders = await pendingOrders(2);
    const before = await tally();
    const shared = `shared-${randomUUID()}`;
    // One after the other: the warning needs the first committed (two handled at the same instant are both applied,
    // without it; see recordMessage).
    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orders[0], orderType: 'Approved' }, messageId: shared }]);
    await settle([orders[0]!], 0);
    await publishReplies(h.t.amqpUrl, [{ body: { orderID: orders[1], orderType: 'Approved' }, messageId: shared }]);

    await settle(orders, 0);
    await expectEachAppliedOnce(before, 2, 0);
    const { rows } = await h.db.query('SELECT count(*)::int AS n FROM inbox WHERE message_id = $1', [shared]);
    expect(rows).toEqual([{ n: 2 }]);
    expect(logs.entries.some((entry) => entry.level === 'warn' && /reuses the message id/.test(String(entry.message)) && entry.messageId === shared)).toBe(true);
  });

  it('when a publisher sends 40 approvals under one message id at once, then each is applied once, in an inbox row of its own', async () => {
    const orders = await pendingOrders(40);
    const before = await tally();
    const shared = `everything-${randomUUID()}`;
    await publishReplies(h.t.amqpUrl, orders.map((orderId) => ({ body: { orderID: orderId, orderType: 'Approved' }, messageId: shared })));

    await settle(orders, 0);
    await expectEachAppliedOnce(before, 40, 0);
    // A row each, not one row listing 40 digests that every reply rewrote under its lock.
    const { rows } = await h.db.query('SELECT count(*)::int AS n FROM inbox WHERE message_id = $1', [shared]);
    expect(rows).toEqual([{ n: 40 }]);
  });

  it('when the same reply is published twice under one message id, then the second is a duplicate', async () => {
    const [orderId] = await pendingOrders(1);
    const before = await tally();
    const reply = approval(orderId!);
    await publishReplies(h.t.amqpUrl, [reply, { ...reply, body: ' {"ORDERID": "' + orderId!.toUpperCase() + '", "orderType": "approved"}' }]);
    await eventually('both handled', async () => (await tally()).duplicate - before.duplicate === 1);
    expect((await tally()).applied - before.applied).toBe(1);
  });

  it('when a malformed reply has expiration=4000, then its copy keeps no expiry and is still in the dead queue after 5 s', async () => {
    const orders = await pendingOrders();
    const before = await tally();
    await publishReplies(h.t.amqpUrl, [approval(orders[0]!)]);
    await publishRaw(h.t.amqpUrl, '["Approved"]', { messageId: 'poison-expiring', expiration: '4000' });
    await publishReplies(h.t.amqpUrl, orders.slice(1).map(approval));
    await settle(orders, 0);
    await eventually('the poison in CustomerSaga.dead', async () => (await queueDepth(h.t.amqpUrl, 'CustomerSaga.dead')) === 1);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const [dead] = await drainQueue(h.t.amqpUrl, 'CustomerSaga.dead');
    expect(dead!.properties.expiration).toBeUndefined();
    expect(dead!.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'not_an_object', 'x-original-expiration': '4000' });
    await expectEachAppliedOnce(before, orders.length, 1);
  });

  it('when valid approvals carry message ids with a NUL byte or 255 bytes of non-ASCII, then they are applied at the first attempt', async () => {
    const orders = await pendingOrders(2);
    const before = await tally();
    const ids = ['approval\u0000with-nul', 'ж'.repeat(127)];
    await publishReplies(h.t.amqpUrl, orders.map((orderId, i) => ({ body: { orderID: orderId, orderType: 'Approved' }, messageId: ids[i] })));
    await settle(orders, 0);
    await expectEachAppliedOnce(before, 2, 0);
    const { rows } = await h.db.query(`SELECT message_id FROM inbox WHERE message_id LIKE 'sha256:%'`);
    expect(rows.length).toBeGreaterThanOrEqual(2);
  });
});
