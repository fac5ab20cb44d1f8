import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { startRelayRole, type RunningRelay } from '../../src/composition/relay-role.js';
import { collectEvents, eventually, type EventCollector } from './event-collector.js';
import { captureLogs, insertOutboxRows, rowsOf } from './outbox-rows.js';

const MAX_ATTEMPTS = 3;
const run = promisify(execFile);

let t: TestService;
let relay: RunningRelay;
let collector: EventCollector;
let client: pg.Client;
let logs: Record<string, unknown>[];

beforeAll(async () => {
  t = await startTestService({ OUTBOX_MAX_ATTEMPTS: String(MAX_ATTEMPTS), LOG_LEVEL: 'info' });
  logs = captureLogs(t.service.logger);
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
  client = await connectPg(t.databaseUrl);
  // Bound to Order.# only, so a message routed to Nowhere.* reaches no queue at all.
  collector = await collectEvents(t.amqpUrl, 'relay-test.orders', 'Order.#');
  relay = await startRelayRole(t.service);
});
afterAll(async () => {
  await relay?.stop();
  await collector?.close();
  await client?.end();
  await t.close();
});

const failureCount = async (reason: string) => {
  const text = await t.service.metrics.registry.metrics();
  return Number(new RegExp(`^outbox_publish_failures_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
};
const attemptLogs = (eventId: string) => logs.filter((line) => line.eventId === eventId);

describe('the relay when a row cannot be published', () => {
  const missing = randomUUID();
  const unroutable = randomUUID();
  const held = randomUUID();
  let missingIds: string[];
  let unroutableIds: string[];
  let heldIds: string[];

  it('when a row names a missing exchange or routes nowhere, then it is retried with backoff and parked, while other orders flow and its own later rows wait', async () => {
    missingIds = await insertOutboxRows(client, [
      { orderId: missing, sequence: 1, exchange: 'NoSuchExchange' },
      { orderId: missing, sequence: 2 },
    ]);
    unroutableIds = await insertOutboxRows(client, [{ orderId: unroutable, sequence: 1, routingKey: 'Nowhere.Bound' }]);
    const firstWave = Array.from({ length: 20 }, () => randomUUID());
    await insertOutboxRows(client, firstWave.flatMap((orderId) => [1, 2].map((sequence) => ({ orderId, sequence }))));
    relay.relay.wake();

    await collector.waitFor('the first wave', (events) => new Set(events.map((e) => e.body.eventID)).size >= 40);
    // Other orders keep flowing while the bad rows back off.
    const secondWave = Array.from({ length: 20 }, () => randomUUID());
    await insertOutboxRows(client, secondWave.flatMap((orderId) => [1, 2].map((sequence) => ({ orderId, sequence }))));
    relay.relay.wake();
    await collector.waitFor('the second wave', (events) => new Set(events.map((e) => e.body.eventID)).size >= 80);

    const parked = async (orderId: string) => ((await rowsOf(client, orderId))[0]!.status === 'Parked' ? true : undefined);
    await eventually('the missing-exchange row parked', () => parked(missing));
    await eventually('the unroutable row parked', () => parked(unroutable));
    await relay.sweep();

    const [bad, behind] = await rowsOf(client, missing);
    expect(bad).toMatchObject({ status: 'Parked', attempts: MAX_ATTEMPTS, last_error: expect.stringMatching(/^no_exchange: .*NoSuchExchange/) });
    // The parked head blocks its own order only: its next row was never even tried.
    expect(behind).toMatchObject({ status: 'Ready', attempts: 0, last_error: null });
    const [returned] = await rowsOf(client, unroutable);
    expect(returned).toMatchObject({ status: 'Parked', attempts: MAX_ATTEMPTS, last_error: expect.stringMatching(/^unroutable: /) });
    // A returned message is followed by an ack; it must still not count as published, nor reach anyone.
    const received = new Set(collector.events.map((event) => event.body.eventID));
    expect([...missingIds, ...unroutableIds].filter((id) => received.has(id))).toEqual([]);

    expect(await failureCount('no_exchange')).toBe(MAX_ATTEMPTS);
    expect(await failureCount('unroutable')).toBe(MAX_ATTEMPTS);
    expect(await t.service.metrics.registry.metrics()).toMatch(/^outbox_parked_rows 2$/m);
  });

  it('when a row failed, then its next attempt came no sooner than its backoff said (no hot loop), and parking was logged with event, order and reason', () => {
    for (const eventId of [missingIds[0]!, unroutableIds[0]!]) {
      const attempts = attemptLogs(eventId);
      expect(attempts.map((line) => line.attempts)).toEqual([1, 2, 3]);
      for (let i = 1; i < attempts.length; i++) {
        const previous = attempts[i - 1]!;
        // A bound that holds by construction, however slow the machine: the claim skips a row until its
        // next_attempt_at, which is at least retryAt, and the next attempt is logged after its claim. (The time
        // between two log lines does not: a line logged late, on a loaded machine, shortens the gap.) A hot loop
        // would retry within a millisecond or two of the failure.
        expect(Number(previous.retryInMs)).toBeGreaterThan(0);
        expect(Date.parse(String(attempts[i]!.timestamp))).toBeGreaterThanOrEqual(Date.parse(String(previous.retryAt)));
        expect(Date.parse(String(previous.retryAt)) - Date.parse(String(previous.timestamp))).toBeLessThanOrEqual(Number(previous.retryInMs));
      }
      const parkedLine = attempts.at(-1)!;
      expect(parkedLine).toMatchObject({ level: 'warn', eventId, orderId: expect.any(String), reason: expect.any(String) });
      expect(parkedLine.message).toMatch(/parked/);
    }
  });

  it('when a held row comes first, then it and the rows behind it stay unpublished', async () => {
    heldIds = await insertOutboxRows(client, [
      { orderId: held, sequence: 1, status: 'Sagas' },
      { orderId: held, sequence: 2 },
    ]);
    await relay.sweep();
    expect((await rowsOf(client, held)).map((row) => [row.status, row.attempts])).toEqual([
      ['Sagas', 0],
      ['Ready', 0],
    ]);
    const received = new Set(collector.events.map((event) => event.body.eventID));
    expect(heldIds.filter((id) => received.has(id))).toEqual([]);
  });

  it('when an operator runs retry-parked, then parked rows are Ready again with a fresh budget and `status` shows the counts', async () => {
    const env = { ...process.env, DATABASE_URL: t.databaseUrl, AMQP_URL: t.amqpUrl };
    const status = await run('npx', ['tsx', 'src/tools/outbox.ts', 'status'], { env, timeout: 60_000 });
    expect(status.stdout).toMatch(/^Parked\s+2\s/m);
    expect(status.stdout).toMatch(/^Published\s+80\s/m);

    await relay.stop(); // so the rows are seen Ready before a relay tries them again
    const retried = await run('npx', ['tsx', 'src/tools/outbox.ts', 'retry-parked'], { env, timeout: 60_000 });
    expect(retried.stdout.trim()).toBe('2 parked row(s) put back to Ready');
    expect((await rowsOf(client, missing))[0]).toMatchObject({ status: 'Ready', attempts: 0 });
    expect((await rowsOf(client, unroutable))[0]).toMatchObject({ status: 'Ready', attempts: 0 });
  });
});
