import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp, { type ChannelModel, type GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestVhost } from '../support/rabbitmq.js';
import { CONTRACT_QUEUES, declareTopology } from '../../src/platform/messaging/topology.js';
import { probeQueueType } from '../../src/platform/messaging/queue-type-probe.js';
import { fingerprint } from '../../src/platform/messaging/message-move.js';
import { MigrationJournal } from '../../src/platform/messaging/migration-journal.js';
import { queueArguments } from '../../src/platform/messaging/queue-type.js';
import { amqpNodes, amqpUser } from '../../src/platform/messaging/amqp-url.js';
import { importShippedDefinitions } from '../support/rabbitmq-definitions.js';

const run = promisify(execFile);
/** More than one batch of the move (100), so that batches follow each other. */
const PER_QUEUE = 230;
const NAMES = CONTRACT_QUEUES.map((queue) => queue.name);

let vhost: Awaited<ReturnType<typeof createTestVhost>>;
let model: ChannelModel;
let dir: string;

beforeAll(async () => {
  vhost = await createTestVhost();
  model = await amqp.connect(vhost.url);
  model.on('error', () => undefined);
  dir = mkdtempSync(path.join(os.tmpdir(), 'topology-migrate-'));
});
afterAll(async () => {
  await model?.close().catch(() => undefined);
  await vhost?.delete();
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run topology -- <args>` on the test's vhost. */
async function topology(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return topologyAs(vhost.url, ...args);
}

async function topologyAs(amqpUrl: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/tools/topology.ts', ...args, '--journal', path.join(dir, 'journal.json')], {
      env: { ...process.env, AMQP_URL: amqpUrl, LOG_LEVEL: 'error' },
      timeout: 120_000,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failure = error as { stdout: string; stderr: string; code: number };
    return { stdout: failure.stdout, stderr: failure.stderr, code: failure.code };
  }
}

/** Per queue: before, moved, after, as the tool printed them. */
function counts(stdout: string): Record<string, [number, number, number]> {
  const lines = stdout.split('\n').filter((line) => / before /.test(line));
  return Object.fromEntries(lines.map((line) => [line.split(/\s+/)[0]!, [...line.matchAll(/(?:before|moved|after)\s+(\d+)/g)].map((match) => Number(match[1])) as [number, number, number]]));
}

async function publishEach(queue: string, count: number, from = 0): Promise<void> {
  const channel = await model.createConfirmChannel();
  for (let i = from; i < from + count; i++) {
    channel.sendToQueue(queue, Buffer.from(JSON.stringify({ queue, i })), {
      persistent: true,
      messageId: `${queue}-${i}`,
      type: 'TestEvent',
      contentType: 'application/json',
      timestamp: 1_700_000_000 + i,
      correlationId: `c-${i}`,
      // Half of them published as the tool's own user (which RabbitMQ lets it keep), as the relay does.
      ...(i % 2 === 0 ? { userId: 'guest' } : {}),
      headers: { 'x-event-sequence': i + 1, 'x-correlation-id': `corr-${i}`, nested: { list: [1, 'two'] } },
    });
  }
  await channel.waitForConfirms();
  await channel.close();
}

/** Every message of a queue, read and put back (the channel closes unacknowledged). */
async function browse(queue: string): Promise<GetMessage[]> {
  const channel = await model.createChannel();
  const messages: GetMessage[] = [];
  for (let message = await channel.get(queue); message; message = await channel.get(queue)) messages.push(message);
  await channel.close();
  return messages;
}

/** What must survive a move: body, properties, the publisher's headers (not the queue's own delivery count). */
function essence(message: GetMessage) {
  const { headers = {}, ...properties } = message.properties;
  const { 'x-delivery-count': _count, ...kept } = headers;
  return { body: message.content.toString(), properties: Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== undefined)), headers: kept };
}

function sorted(messages: ReturnType<typeof essence>[]): ReturnType<typeof essence>[] {
  return [...messages].sort((a, b) => String(a.properties.messageId).localeCompare(String(b.properties.messageId)));
}

async function types(): Promise<string[]> {
  return Promise.all(CONTRACT_QUEUES.map((queue) => probeQueueType(model, queue, 5_000)));
}

describe('npm run topology -- migrate', () => {
  it('when every live and dead-letter queue is classic with messages, then migrate makes them quorum (in order) and back, each message exactly once, with its properties and headers', async () => {
    expect(await declareTopology(model, 10_000, 'classic')).toEqual({ ok: true });
    for (const name of NAMES) await publishEach(name, PER_QUEUE);
    const original = new Map<string, ReturnType<typeof essence>[]>();
    for (const name of NAMES) original.set(name, (await browse(name)).map(essence));

    const toQuorum = await topology('migrate', '--to', 'quorum');
    expect(toQuorum.code, toQuorum.stderr).toBe(0);
    console.log(`[topology] classic -> quorum:\n${toQuorum.stdout}`);
    for (const name of NAMES) expect(counts(toQuorum.stdout)[name], name).toEqual([PER_QUEUE, PER_QUEUE, PER_QUEUE]);
    expect(await types()).toEqual(NAMES.map(() => 'quorum'));
    for (const name of NAMES) expect((await browse(name)).map(essence), name).toEqual(original.get(name));

    // Once more: nothing to do, nothing moves.
    const again = await topology('migrate', '--to', 'quorum');
    expect(again.code).toBe(0);
    for (const name of NAMES) expect(counts(again.stdout)[name], name).toEqual([PER_QUEUE, 0, PER_QUEUE]);

    const toClassic = await topology('migrate', '--to', 'classic');
    expect(toClassic.code, toClassic.stderr).toBe(0);
    console.log(`[topology] quorum -> classic:\n${toClassic.stdout}`);
    for (const name of NAMES) expect(counts(toClassic.stdout)[name], name).toEqual([PER_QUEUE, PER_QUEUE, PER_QUEUE]);
    expect(await types()).toEqual(NAMES.map(() => 'classic'));
    // Browsing a quorum queue (above) hands its messages back in an order of the broker's choosing, so the way
    // back is compared as a set; each message still exactly once.
    for (const name of NAMES) expect(sorted((await browse(name)).map(essence)), name).toEqual(sorted(original.get(name)!));

    const shown = await topology('show');
    expect(shown.stdout).toMatch(/^Orders\s+classic\s+230\s+0$/m);
  });

  it('when a migration was killed after some copies of a batch reached the holding queue, then the next run drops exactly those originals and no message is lost or doubled', async () => {
    const queue = CONTRACT_QUEUES.find((candidate) => candidate.name === 'Orders.dead')!;
    const channel = await model.createChannel();
    for (const name of NAMES) await channel.deleteQueue(name);
    await channel.close();
    await declareTopology(model, 10_000, 'classic');
    await publishEach(queue.name, 20, 1_000);
    const before = (await browse(queue.name)).map(essence);

    // What a run killed half way through its first batch leaves: 5 taken (unacked), journaled, 3 copies confirmed.
    const taker = await model.createConfirmChannel();
    await taker.assertQueue(`${queue.name}.migrating`, queueArguments('quorum', undefined));
    const batch: GetMessage[] = [];
    for (let i = 0; i < 5; i++) batch.push((await taker.get(queue.name)) as GetMessage);
    new MigrationJournal(path.join(dir, 'journal.json')).write({
      broker: amqpNodes(vhost.url)[0]!.label,
      source: queue.name,
      target: `${queue.name}.migrating`,
      sourceBefore: 20,
      targetBefore: 0,
      fingerprints: batch.map(fingerprint),
    });
    for (const message of batch.slice(0, 3)) taker.sendToQueue(`${queue.name}.migrating`, message.content, { ...message.properties, headers: message.properties.headers });
    await taker.waitForConfirms();
    await taker.close(); // the "crash": the five originals go back to Orders.dead

    const resumed = await topology('migrate', '--to', 'quorum');
    expect(resumed.code, resumed.stderr).toBe(0);
    console.log(`[topology] resumed after a killed batch:\n${resumed.stdout}`);
    expect(resumed.stdout).toContain('interrupted batch settled: 3 message(s) already copied');
    expect(counts(resumed.stdout)['Orders.dead']).toEqual([20, 20, 20]);
    expect((await browse(queue.name)).map(essence)).toEqual(before);
  });

  it('when it runs as the service user of configs/rabbitmq/definitions.json, then its permissions suffice and the events keep their user_id', async () => {
    const defs = await importShippedDefinitions();
    const service = await amqp.connect(defs.serviceUrl);
    service.on('error', () => undefined);
    try {
      expect(await declareTopology(service, 10_000, 'classic')).toEqual({ ok: true });
      const channel = await service.createConfirmChannel();
      for (const name of NAMES) channel.sendToQueue(name, Buffer.from(`{"queue":"${name}"}`), { persistent: true, userId: amqpUser(defs.serviceUrl), messageId: name });
      await channel.waitForConfirms();
      await channel.close();
      const moved = await topologyAs(defs.serviceUrl, 'migrate', '--to', 'quorum');
      expect(moved.code, moved.stderr).toBe(0);
      for (const name of NAMES) expect(counts(moved.stdout)[name], name).toEqual([1, 1, 1]);
      const reader = await service.createChannel();
      const event = await reader.get('Orders');
      expect(event && event.properties.userId).toBe(amqpUser(defs.serviceUrl));
      await reader.close();
    } finally {
      await service.close().catch(() => undefined);
      await defs.remove();
    }
  });
});
