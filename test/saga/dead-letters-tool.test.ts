import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, drainQueue, eventually, publishReplies, sagaStatus, startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { expect204, orderBody } from '../support/fixtures.js';
import amqp from 'amqplib';
import { createTestUser, queueDepth } from '../support/rabbitmq.js';
import { amqpUser } from '../../src/platform/messaging/amqp-url.js';
import { publishToOrdersQueue } from '../projection/projection-harness.js';

const run = promisify(execFile);

let h: SagaHarness;
beforeAll(async () => {
  h = await startSagaHarness();
});
afterAll(() => h?.close());

/** `npm run dead-letters -- <args>` against the test's vhost: its output, and its exit code. */
async function deadLetters(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/tools/dead-letters.ts', ...args], {
      env: { ...process.env, AMQP_URL: h.t.amqpUrl, LOG_LEVEL: 'error' },
      timeout: 60_000,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failure = error as { stdout: string; stderr: string; code: number };
    return { stdout: failure.stdout, stderr: failure.stderr, code: failure.code };
  }
}

/** The listed messages: id, queue, reason, message id. */
async function listed(): Promise<{ id: string; queue: string; reason: string; messageId: string }[]> {
  const { stdout } = await deadLetters('list');
  return stdout
    .trim()
    .split('\n')
    .slice(1, -1)
    .map((line) => line.split(/\s+/))
    .map(([id, queue, reason, , , messageId]) => ({ id: id!, queue: queue!, reason: reason!, messageId: messageId! }));
}

describe('npm run dead-letters', () => {
  it('when replies were dead-lettered, then list shows them, show prints one, and replay puts it back where a duplicate is still recognised', async () => {
    // Two copies of an approval for an order that does not exist yet, and a body that is no reply at all.
    const orderId = randomUUID();
    const approval = { body: { orderID: orderId, orderType: 'Approved' }, messageId: `approval-${orderId}` };
    await publishReplies(h.t.amqpUrl, [approval, approval, { body: 'not json', messageId: 'not-json' }]);
    await eventually('three dead letters', async () => (await queueDepth(h.t.amqpUrl, 'CustomerSaga.dead')) === 3);

    const letters = await listed();
    // In the order they were dead-lettered, which replies handled at once may change.
    expect(letters.map(({ queue, reason, messageId }) => ({ queue, reason, messageId }))).toEqual(
      expect.arrayContaining([
        { queue: 'CustomerSaga.dead', reason: 'unknown_order', messageId: approval.messageId },
        { queue: 'CustomerSaga.dead', reason: 'malformed_json', messageId: 'not-json' },
      ]),
    );
    expect(letters.filter((letter) => letter.reason === 'unknown_order')).toHaveLength(2);
    const notJson = letters.find((letter) => letter.reason === 'malformed_json')!;
    const shown = await deadLetters('show', notJson.id.slice(0, 8));
    expect(shown.stdout).toContain('reason:         malformed_json');
    expect(shown.stdout).toMatch(/body \(8 bytes\):\nnot json/);
    expect(await queueDepth(h.t.amqpUrl, 'CustomerSaga.dead')).toBe(3);

    // The order comes into being (the reply had arrived first); both copies are replayed: the first applies,
    // the second is recognised by the inbox as the same message.
    await expect204(h.t.http.post('/api/v1/orders').send(orderBody(h.catalog, { orderID: orderId })));
    const duplicatesBefore = await counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome: 'duplicate' });
    for (const letter of letters.filter((each) => each.reason === 'unknown_order')) expect((await deadLetters('replay', letter.id)).stdout).toContain(`replayed ${letter.id} to CustomerSaga`);
    await eventually('the replayed approval applied', async () => (await sagaStatus(h.db, orderId)) === 'Approved');
    await eventually('the second copy seen as a duplicate', async () => (await counter(h.t, 'messages_consumed_total', { queue: 'CustomerSaga', outcome: 'duplicate' })) === duplicatesBefore + 1);
    expect((await listed()).map((letter) => letter.messageId)).toEqual(['not-json']);
  });

  it('when an untrusted event is replayed, then it is not laundered: it comes back to Orders.dead as untrusted_publisher', async () => {
    await publishToOrdersQueue(h.t, [{ body: '{"eventType":"OrderDeleted"}', messageId: 'forged-delete', userId: null }]);
    await eventually('the forged event dead-lettered', async () => (await queueDepth(h.t.amqpUrl, 'Orders.dead')) === 1);
    const [letter] = (await listed()).filter((each) => each.queue === 'Orders.dead');
    expect(letter!.reason).toBe('untrusted_publisher');
    const before = await counter(h.t, 'messages_dead_lettered_total', { queue: 'Orders', reason: 'untrusted_publisher' });
    await deadLetters('replay', letter!.id);
    await eventually('dead-lettered again', async () => (await counter(h.t, 'messages_dead_lettered_total', { queue: 'Orders', reason: 'untrusted_publisher' })) === before + 1);
    expect((await listed()).filter((each) => each.queue === 'Orders.dead').map((each) => each.reason)).toEqual(['untrusted_publisher']);
  });

  it('when purge runs, then only messages dead-lettered before the cut-off go, and bad arguments get the usage', async () => {
    const count = (await listed()).length;
    expect(count).toBeGreaterThan(0);
    expect((await deadLetters('purge', '--older-than', '1h')).stdout).toContain(`purged 0 message(s)`);
    expect((await listed()).length).toBe(count);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await deadLetters('purge', '--older-than', '1s')).stdout).toContain(`purged ${count} message(s)`);
    expect(await listed()).toEqual([]);
    const bad = await deadLetters('purge');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--older-than/);
    expect((await deadLetters('replay', 'no-such-id')).stderr).toMatch(/no dead-lettered message has an id starting with "no-such-id"/);
  });

  it('when events and a reply over MAX_MESSAGE_BYTES (256 KiB) arrive, then each is dead-lettered unread by the broker, and list and show say too_large, inferred from the size', async () => {
    // Not JSON: had either body been read, its reason would be invalid_json or malformed_json.
    const body = 'x'.repeat(300 * 1024);
    const deadBefore = { Orders: await counter(h.t, 'messages_dead_lettered_total', { queue: 'Orders' }), CustomerSaga: await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga' }) };
    // One event as the service's own user (guest here), so that the publisher check passes and only its size counts;
    // one from nobody in particular, which is too_large too: the size is checked first, so that the tool can tell.
    await publishToOrdersQueue(h.t, [{ body, messageId: 'large-event' }, { body, messageId: 'large-untrusted-event', userId: null }]);
    await publishReplies(h.t.amqpUrl, [{ body, messageId: 'large-reply' }]);
    await eventually('all three in their dead queues', async () => (await queueDepth(h.t.amqpUrl, 'Orders.dead')) === 2 && (await queueDepth(h.t.amqpUrl, 'CustomerSaga.dead')) === 1);
    for (const [queue, count] of [['Orders', 2], ['CustomerSaga', 1]] as const) {
      expect(await counter(h.t, 'messages_dead_lettered_total', { queue, reason: 'too_large' }), queue).toBe(count);
      expect((await counter(h.t, 'messages_dead_lettered_total', { queue })) - deadBefore[queue], queue).toBe(count);
    }

    const letters = await listed();
    expect(letters.map(({ queue, reason, messageId }) => ({ queue, reason, messageId })).sort((a, b) => a.messageId.localeCompare(b.messageId))).toEqual([
      { queue: 'Orders.dead', reason: 'too_large', messageId: 'large-event' },
      { queue: 'CustomerSaga.dead', reason: 'too_large', messageId: 'large-reply' },
      { queue: 'Orders.dead', reason: 'too_large', messageId: 'large-untrusted-event' },
    ]);
    for (const letter of letters) {
      const { stdout } = await deadLetters('show', letter.id);
      // The broker's own dead-lettering (x-death reason rejected), the body as it came.
      expect(stdout).toMatch(/^reason: +too_large \(inferred from the size: the broker says "rejected" by (Orders|CustomerSaga), and only a body over MAX_MESSAGE_BYTES \(262144\) is rejected without a copy carrying its reason\)$/m);
      // Headers as JSON, escaped once.
      expect(stdout).toContain('"x-first-death-reason":"rejected"');
      expect(stdout).toContain(`body (${300 * 1024} bytes, first 4000 characters):`);
    }
  });

  it('when a reply that only looks like a dead-letter copy is dead-lettered by the broker, then list trusts none of its headers and replay sends it back where it came from, vouched for by nobody', async () => {
    const stranger = await createTestUser(h.t.vhost, { configure: '^$', write: '.*', read: '^$' });
    try {
      // Over MAX_MESSAGE_BYTES, so the service rejects it unread and the broker dead-letters it with every header.
      const forged = {
        'x-dead-letter-id': 'forged-id',
        'x-dead-letter-reason': 'handler_error',
        'x-original-queue': 'Orders',
        'x-original-user-id': amqpUser(h.t.amqpUrl),
        // RabbitMQ 3.10 keeps a sent x-death entry whose queue and reason match its own, with the sender's time.
        'x-death': [{ queue: 'CustomerSaga', reason: 'rejected', count: 1, exchange: '', 'routing-keys': ['CustomerSaga'], time: { '!': 'timestamp', value: 1e14 }, 'original-expiration': 'soon' }],
      };
      const connection = await amqp.connect(stranger.url);
      const channel = await connection.createConfirmChannel();
      channel.sendToQueue('CustomerSaga', Buffer.from('x'.repeat(300 * 1024)), { messageId: 'forged-copy', userId: stranger.name, headers: forged });
      await channel.waitForConfirms();
      await connection.close();
      await eventually('the forged reply dead-lettered', async () => (await listed()).some((each) => each.messageId === 'forged-copy'));

      const [letter] = (await listed()).filter((each) => each.messageId === 'forged-copy');
      expect([letter!.queue, letter!.reason, letter!.id.startsWith('broker-')]).toEqual(['CustomerSaga.dead', 'too_large', true]);
      // A time no message can have is no time (show printed it by throwing).
      const shown = await deadLetters('show', letter!.id);
      expect([shown.code, shown.stdout]).toEqual([0, expect.stringMatching(/^dead-lettered: +-$/m)]);
      const ordersBefore = await counter(h.t, 'messages_consumed_total', { queue: 'Orders' });
      const repliesBefore = await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga', reason: 'too_large' });
      await deadLetters('replay', letter!.id);
      // Back to CustomerSaga (too_large again), not to Orders as the service's own event.
      await eventually('dead-lettered again from CustomerSaga', async () => (await counter(h.t, 'messages_dead_lettered_total', { queue: 'CustomerSaga', reason: 'too_large' })) === repliesBefore + 1);
      expect(await counter(h.t, 'messages_consumed_total', { queue: 'Orders' })).toBe(ordersBefore);
      const again = (await drainQueue(h.t.amqpUrl, 'CustomerSaga.dead')).filter((message) => message.properties.messageId === 'forged-copy');
      expect(again.map((message) => [message.properties.userId, message.properties.expiration])).toEqual([[undefined, undefined]]);
    } finally {
      await stranger.delete();
    }
  });
});
