import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import type pg from 'pg';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { placeOrder, seedCatalog, type Catalog } from '../support/fixtures.js';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import { ApproveOrder, RejectOrder } from '../../src/orders/saga/saga-reply-commands.js';
import { renderValue, type Ref } from './fuzz-values.js';
import { fuzzReply, type FuzzReply } from './saga-reply-arbitraries.js';
import { createTestUser, drainQueue, type TestUser } from '../support/rabbitmq.js';
import { parseSagaReply } from '../../src/orders/saga/saga-reply.js';

// Generated replies on CustomerSaga, published in batches while the saga consumer runs: bodies, and the properties a
// careless or hostile publisher sets (another user's validated user_id, expiration, priority, huge and binary
// headers, message ids with any bytes or shared by several replies, bodies of several MB). FUZZ_RUNS / 10 replies
// in all (40 for `make test`, 1,000 for `make faults`); FUZZ_SEED replays a failing run.
const TOTAL_REPLIES = Math.max(10, Math.ceil(Number(process.env.FUZZ_RUNS ?? 400) / 10));
const BATCH = Math.min(50, Math.max(10, Math.ceil(TOTAL_REPLIES / 4)));
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PENDING_PER_BATCH = 5;
const QUEUE = 'CustomerSaga';
const DEAD = 'CustomerSaga.dead';

let t: TestService;
let catalog: Catalog;
let db: pg.Client;
let broker: ChannelModel;
let channel: ConfirmChannel;
let stranger: TestUser;
let strangerBroker: ChannelModel;
let strangerChannel: ConfirmChannel;
const roles: RunningRole[] = [];
const stats = { sent: 0, byExpectation: new Map<string, number>(), deadReasons: new Map<string, number>() };

beforeAll(async () => {
  t = await startTestService();
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(15_000);
  roles.push(await ROLE_STARTERS.consumers(t.service));
  db = await connectPg(t.databaseUrl);
  catalog = await seedCatalog(t, 2, [100, 9.99]);
  broker = await amqp.connect(t.amqpUrl);
  channel = await broker.createConfirmChannel();
  // Another RabbitMQ user allowed to publish replies, as a customer service is.
  stranger = await createTestUser(t.vhost, { configure: '^$', write: '.*', read: '^$' });
  strangerBroker = await amqp.connect(stranger.url);
  strangerChannel = await strangerBroker.createConfirmChannel();
  // Two orders whose saga already ended, for the replies that must be acknowledged and change nothing.
  const [approved, rejected] = [await placeOrder(t, catalog), await placeOrder(t, catalog)];
  await t.service.mediator.send(ApproveOrder, { orderID: approved }, 'fuzz-seed');
  await t.service.mediator.send(RejectOrder, { orderID: rejected }, 'fuzz-seed');
});

afterAll(async () => {
  const line = (map: Map<string, number>) => [...map.entries()].sort().map(([k, n]) => `${k}: ${n}`).join(', ');
  console.log(`saga reply fuzz: ${stats.sent} replies (FUZZ_RUNS/10=${TOTAL_REPLIES}, batches of ${BATCH}); expected ${line(stats.byExpectation)}; dead-lettered by reason ${line(stats.deadReasons)}`);
  for (const role of roles.reverse()) await role.stop();
  await broker?.close().catch(() => undefined);
  await strangerBroker?.close().catch(() => undefined);
  await stranger?.delete();
  await db?.end();
  await t?.close();
});

async function statuses(ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; saga_status: string }>('SELECT id::text, saga_status FROM orders WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((row) => [row.id, row.saga_status]));
}

/** Replies the consumer finished with (acknowledged or dead-lettered), from the service's own counter. */
async function handled(): Promise<number> {
  const outcomes = await consumed();
  return [...outcomes.entries()].filter(([outcome]) => outcome !== 'retried').reduce((sum, [, count]) => sum + count, 0);
}

/** messages_consumed_total for CustomerSaga by outcome. */
async function consumed(): Promise<Map<string, number>> {
  const { values } = await t.service.metrics.consumedMessages.get();
  return new Map(values.filter((v) => v.labels.queue === QUEUE).map((v) => [String(v.labels.outcome), v.value]));
}

async function eventually(what: string, probe: () => Promise<boolean>, deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function bodyOf(reply: FuzzReply, resolve: (ref: Ref) => string): Buffer {
  const { body } = reply;
  if ('bytes' in body) return Buffer.from(body.bytes);
  if ('text' in body) return Buffer.from(body.text);
  if ('padded' in body) return Buffer.from(JSON.stringify({ orderID: randomUUID(), orderType: 'Approved', padding: 'x'.repeat(body.padded) }));
  let text = renderValue(body.value, resolve);
  for (let i = 0; i < body.wrap; i++) text = JSON.stringify(text);
  return Buffer.from(text);
}

function messageIdOf(reply: FuzzReply, sharedId: string): string | undefined {
  switch (reply.messageId) {
    case 'unique':
      return randomUUID();
    case 'none':
      return undefined;
    case 'empty':
      return '';
    case 'too-long':
      return `${randomUUID()}${'m'.repeat(219)}`; // 255 bytes, the most an AMQP shortstr holds
    case 'nul':
      return `${randomUUID()}\u0000${randomUUID()}`;
    case 'control':
      return `\u0001\u001b[31m${randomUUID()}\u007f\n`;
    case 'shared':
      return sharedId;
  }
}

/** Headers of every kind a publisher can send, up to the size the broker and amqplib take in one header frame. */
function headersOf(reply: FuzzReply, index: number): Record<string, unknown> {
  const own = { 'x-fuzz-id': String(index), ...(reply.correlationId === null ? {} : { 'x-correlation-id': reply.correlationId }) };
  switch (reply.headers) {
    case 'none':
      return own;
    case 'huge':
      return { ...own, huge: 'h'.repeat(60_000) };
    case 'binary':
      return { ...own, bytes: Buffer.from([0, 1, 2, 255, 254]), nested: { list: [1, 'two', Buffer.from('\u0000')], flag: true } };
    case 'many':
      return { ...own, ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`h${i}`, 'v'.repeat(100)])) };
  }
}

/** Publishes a batch and waits until the consumer finished every message of it. */
async function publish(replies: FuzzReply[], bodies: Buffer[]): Promise<void> {
  const before = await handled();
  const sharedId = `shared-${randomUUID()}`;
  replies.forEach((reply, index) => {
    const messageId = messageIdOf(reply, sharedId);
    const on = reply.publisher === 'service' ? channel : strangerChannel;
    const options = {
      persistent: true,
      headers: headersOf(reply, index),
      ...(messageId === undefined ? {} : { messageId }),
      ...(reply.contentType === null ? {} : { contentType: reply.contentType }),
      ...(reply.publisher === 'stranger-with-user-id' ? { userId: stranger.name } : {}),
      ...(reply.expiration === null ? {} : { expiration: reply.expiration }),
      ...(reply.priority === null ? {} : { priority: reply.priority }),
    };
    if (reply.route === 'queue') on.sendToQueue(QUEUE, bodies[index]!, options);
    else on.publish('Orders', reply.routingKey, bodies[index]!, options);
  });
  await Promise.all([channel.waitForConfirms(), strangerChannel.waitForConfirms()]);
  stats.sent += replies.length;
  for (const reply of replies) stats.byExpectation.set(reply.expect, (stats.byExpectation.get(reply.expect) ?? 0) + 1);
  await eventually(`the consumer to finish ${replies.length} replies`, async () => (await handled()) >= before + replies.length);
}

/** Every dead letter now in CustomerSaga.dead, each checked against /asyncapi.json (drainQueue). */
function drainDead(): Promise<GetMessage[]> {
  return drainQueue(t.amqpUrl, DEAD);
}

/**
 * One batch: every reply that cannot be applied is in CustomerSaga.dead exactly once, unchanged, with a reason;
 * nothing else is; each pending order ends in one of the decisions sent for it, or stays pending; ended orders
 * do not move; CustomerSaga is empty.
 */
async function exercise(replies: FuzzReply[]): Promise<void> {
  const pending = await Promise.all(Array.from({ length: PENDING_PER_BATCH }, () => placeOrder(t, catalog)));
  const ended = (await db.query<{ id: string }>("SELECT id::text FROM orders WHERE saga_status <> 'Pending' ORDER BY serial_number")).rows.map((row) => row.id);
  const endedBefore = await statuses(ended);
  // The order each reply names (a reply's body holds at most one reference).
  const targets: (string | undefined)[] = [];
  const bodies = replies.map((reply, index) =>
    bodyOf(reply, (ref) => {
      const pool = ref.ref === 'pendingOrder' ? pending : ended;
      targets[index] = pool[ref.pick % pool.length]!;
      return ref.upper ? targets[index]!.toUpperCase() : targets[index]!;
    }),
  );
  const outcomesBefore = await consumed();
  await publish(replies, bodies);

  const dead = await drainDead();
  const deadIds = dead.map((message) => Number(message.properties.headers?.['x-fuzz-id']));
  const expectedDead = replies.flatMap((reply, index) => (reply.expect === 'dead' ? [index] : []));
  const describeReply = (index: number) => {
    const { expect: expectation, reason, messageId, route } = replies[index]!;
    return `#${index} expected ${expectation}${reason ? ` (${reason})` : ''}, ${route}, messageId ${messageId}: ${bodies[index]!.toString('utf8').slice(0, 300)}`;
  };
  const unexpected = deadIds.filter((index) => !expectedDead.includes(index)).map(describeReply);
  const missing = expectedDead.filter((index) => !deadIds.includes(index)).map(describeReply);
  expect({ unexpected, missing }, 'exactly the replies that can never be applied are dead-lettered').toEqual({ unexpected: [], missing: [] });
  expect(deadIds.length, 'each dead-lettered once').toBe(expectedDead.length);
  for (const message of dead) {
    const index = Number(message.properties.headers?.['x-fuzz-id']);
    const tooLarge = bodies[index]!.length > t.config.MAX_MESSAGE_BYTES;
    // Too large to copy: rejected onto the dead-letter exchange as it came, the broker's reason in x-death.
    const reason = tooLarge ? message.properties.headers?.['x-first-death-reason'] : message.properties.headers?.['x-dead-letter-reason'];
    stats.deadReasons.set(tooLarge ? 'too_large' : String(reason), (stats.deadReasons.get(tooLarge ? 'too_large' : String(reason)) ?? 0) + 1);
    expect(typeof reason === 'string' && reason.length > 0, 'the dead letter says why').toBe(true);
    if (tooLarge) expect(reason).toBe('rejected');
    else if (replies[index]!.reason) expect(reason).toBe(replies[index]!.reason);
    expect(message.properties.expiration, 'a dead letter never expires').toBeUndefined();
    expect(message.content.equals(bodies[index]!), 'the dead letter is the message as it was sent').toBe(true);
  }

  const after = await statuses([...pending, ...ended]);
  for (const id of pending) {
    const decisions = replies.flatMap((reply, index) => (reply.expect === 'apply' && targets[index] === id ? [reply.decision!] : []));
    if (decisions.length === 0) expect(after.get(id), `order ${id} got no applicable reply and stays pending`).toBe('Pending');
    else expect(decisions, `order ${id} ends in one of the decisions sent for it`).toContain(after.get(id));
  }
  for (const id of ended) expect(after.get(id), `order ${id} had ended and does not move`).toBe(endedBefore.get(id));
  expect((await channel.checkQueue(QUEUE)).messageCount, 'CustomerSaga is empty').toBe(0);
  // Nothing looped or was retried, and every reply was handled exactly once: the live ones acknowledged (a valid
  // reply applied, or ignored as its order's second), never mistaken for a duplicate of another.
  const outcomes = await consumed();
  const delta = (outcome: string) => (outcomes.get(outcome) ?? 0) - (outcomesBefore.get(outcome) ?? 0);
  const live = replies.length - expectedDead.length;
  expect({ retried: delta('retried'), dead: delta('dead_lettered'), live: delta('applied') + delta('ignored'), duplicate: delta('duplicate') }).toEqual({
    retried: 0,
    dead: expectedDead.length,
    live: live - duplicatesIn(replies, bodies),
    duplicate: duplicatesIn(replies, bodies),
  });
}

/** Live replies that repeat an earlier one of the batch: the same message id and the same meaning (order and decision). */
function duplicatesIn(replies: FuzzReply[], bodies: Buffer[]): number {
  const seen = new Set<string>();
  let duplicates = 0;
  replies.forEach((reply, index) => {
    if (reply.expect === 'dead' || reply.messageId !== 'shared') return;
    const parsed = parseSagaReply(bodies[index]!);
    if (!parsed.ok) return;
    const key = `${parsed.reply.orderId}:${parsed.reply.decision}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
  });
  return duplicates;
}

describe('saga replies under generated messages', () => {
  it(
    'when malformed, unknown and valid replies arrive together, then each malformed one ends in CustomerSaga.dead with a reason and each valid one is applied',
    async () => {
      await fc.assert(fc.asyncProperty(fc.array(fuzzReply, { minLength: BATCH, maxLength: BATCH }), exercise), {
        numRuns: Math.ceil(TOTAL_REPLIES / BATCH),
        // A batch is stateful (orders, queues); shrinking it would replay many batches. The failure names the replies.
        endOnFailure: true,
        ...(SEED === undefined ? {} : { seed: SEED }),
      });
    },
    Math.max(120_000, TOTAL_REPLIES * 1_000),
  );

  it('when the fuzzing is over, then the consumer still applies a valid reply and the service answers', async () => {
    const orderId = await placeOrder(t, catalog);
    channel.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ orderID: orderId, orderType: 'Approved' })), { messageId: randomUUID(), persistent: true });
    await channel.waitForConfirms();
    await eventually('the reply to be applied', async () => (await statuses([orderId])).get(orderId) === 'Approved');
    expect((await t.http.get('/healthcheck')).body).toEqual({ status: 'OK' });
    expect((await t.http.get(`/api/v1/orders/${orderId}`)).body.sagaStatus).toBe('Approved');
  });
});
