import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { rabbitmqctl } from '../support/rabbitmq.js';
import { expect204, orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { startRelayRole, type RunningRelay } from '../../src/composition/relay-role.js';
import { collectEvents, eventually, type EventCollector } from './event-collector.js';
import { captureLogs } from './outbox-rows.js';

const ORDERS = 500;
const PRODUCTS = 3; // OrderCreateSaga, 3 x OrderAddProduct, OrderCreated: 5 events per order
const EVENTS_PER_ORDER = PRODUCTS + 2;

let first: TestService;
let second: TestService;
let relays: RunningRelay[];
let collector: EventCollector;
let client: pg.Client;
let catalog: Catalog;
let vhost: string;
let warnings: Record<string, unknown>[][];

beforeAll(async () => {
  first = await startTestService({ LOG_LEVEL: 'warn' });
  // A second instance on the same database and vhost: another relay process, as when the service is scaled out.
  second = first.sibling();
  warnings = [first, second].map((t) => captureLogs(t.service.logger, 'warn'));
  for (const t of [first, second]) {
    await t.service.rabbit.start();
    await t.service.rabbit.waitForConnection(10_000);
  }
  vhost = decodeURIComponent(new URL(first.amqpUrl).pathname.slice(1));
  client = await connectPg(first.databaseUrl);
  catalog = await seedCatalog(first, PRODUCTS, [10, 20, 30]);
  collector = await collectEvents(first.amqpUrl);
  relays = [await startRelayRole(first.service), await startRelayRole(second.service)];
});
afterAll(async () => {
  for (const relay of relays ?? []) await relay.stop();
  await collector?.close();
  await client?.end();
  await second?.close();
  await first?.close();
});

/** Creates orders through both instances' HTTP APIs, a few at a time. */
async function createOrders(count: number): Promise<string[]> {
  const ids: string[] = [];
  const queue = Array.from({ length: count }, (_, index) => index);
  const worker = async () => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      const body = orderBody(catalog);
      const instance = index % 2 === 0 ? first : second;
      await expect204(instance.http.post('/api/v1/orders').set('X-Request-Id', `req-order-${index}`).send(body));
      ids.push(body.orderID);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ids;
}

/**
 * What ApproveOrder will do to the outbox, by SQL for speed: the held rows become Ready; then relays are told.
 * In small chunks spread over a few seconds, so the relays are publishing when the connections are killed.
 */
async function releaseHeld(orderIds: string[], chunk = 10, pauseMs = 60): Promise<void> {
  for (let start = 0; start < orderIds.length; start += chunk) {
    await client.query(
      `UPDATE outbox SET status = 'Ready', ready_at = now(), next_attempt_at = now() WHERE status = 'Sagas' AND aggregate_id = ANY($1::uuid[])`,
      [orderIds.slice(start, start + chunk)],
    );
    await client.query(`SELECT pg_notify('outbox_ready', '')`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

const killConnections = () => rabbitmqctl('close_all_connections', '--vhost', vhost, 'relay ordering test');

describe('two relays, 500 orders, connections killed mid-run', () => {
  it('when two relays publish while connections are killed, then every event arrives, each order in recorded order, and nothing marked published is lost', async () => {
    const early = await createOrders(ORDERS / 2);
    const kills = (async () => {
      for (let kill = 0; kill < 3; kill++) await killConnections();
    })();
    const [late] = await Promise.all([createOrders(ORDERS / 2), releaseHeld(early)]);
    await releaseHeld(late!);
    await kills;

    const orderIds = [...early, ...late!];
    const { rows } = await client.query<{ event_id: string; aggregate_id: string; sequence: number; status: string }>(
      'SELECT event_id, aggregate_id, sequence, status FROM outbox WHERE aggregate_id = ANY($1::uuid[])',
      [orderIds],
    );
    expect(rows).toHaveLength(ORDERS * EVENTS_PER_ORDER);
    const expected = new Map(rows.map((row) => [row.event_id, row]));
    await collector.waitFor(
      'every event',
      () => collector.firstSeen().filter((event) => expected.has(event.body.eventID)).length === expected.size,
      120_000,
    );

    // In recorded order per order: an event is first seen only after every earlier event of its order.
    const seenSequences = new Map<string, number[]>();
    for (const event of collector.firstSeen()) {
      const row = expected.get(event.body.eventID);
      if (!row) continue;
      seenSequences.set(row.aggregate_id, [...(seenSequences.get(row.aggregate_id) ?? []), row.sequence]);
    }
    const outOfOrder = [...seenSequences].filter(([, sequences]) => sequences.join() !== '1,2,3,4,5');
    expect(outOfOrder).toEqual([]);
    expect(seenSequences.size).toBe(ORDERS);

    // At least once: every row ends Published, and every row marked published was received. A message can arrive
    // before its row is marked, and a row whose confirm a killed connection took is Ready again, backing off (its
    // message may well have arrived): let both relays sweep until they have published it again.
    const unpublished = async () =>
      (await client.query<{ event_id: string; status: string }>(`SELECT event_id, status FROM outbox WHERE aggregate_id = ANY($1::uuid[]) AND status <> 'Published'`, [orderIds])).rows;
    await eventually('every row published after its backoff', async () => {
      for (const relay of relays) await relay.sweep();
      return (await unpublished()).length === 0;
    }, 30_000).catch(() => undefined);
    expect(await unpublished()).toEqual([]);
    const { rows: after } = await client.query<{ event_id: string; status: string }>('SELECT event_id, status FROM outbox WHERE aggregate_id = ANY($1::uuid[])', [orderIds]);
    const received = new Set(collector.events.map((event) => event.body.eventID));
    expect(after.filter((row) => !received.has(row.event_id))).toEqual([]);

    // The kills reached both services' connections (and they recovered, since everything arrived).
    for (const lines of warnings) expect(lines.filter((line) => line.message === 'rabbitmq connection lost; reconnecting').length).toBeGreaterThan(0);

    const metricsText = await Promise.all([first, second].map((t) => t.service.metrics.registry.metrics()));
    const publishedBy = metricsText.map((text) => Number(/^outbox_published_total (\d+)/m.exec(text)?.[1] ?? 0));
    const cutOff = metricsText.map((text) => Number(/^outbox_publish_failures_total\{reason="channel_closed"\} (\d+)/m.exec(text)?.[1] ?? 0));
    expect(publishedBy[0]! + publishedBy[1]!).toBeGreaterThanOrEqual(ORDERS * EVENTS_PER_ORDER);
    console.log(
      `relay ordering: ${collector.events.length} deliveries for ${expected.size} events ` +
        `(${collector.events.length - expected.size} duplicates); published by relay 1: ${publishedBy[0]}, relay 2: ${publishedBy[1]}; ` +
        `publishes cut off by a killed connection: ${cutOff[0]! + cutOff[1]!}`,
    );
  });
});
