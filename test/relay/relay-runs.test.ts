import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { claimRows, type ClaimedRow } from '../../src/outbox/persistence/relay-cycle.js';
import { startRelayRole, type RunningRelay } from '../../src/composition/relay-role.js';
import { collectEvents, eventually, type EventCollector } from './event-collector.js';
import { insertOutboxRows, rowsOf } from './outbox-rows.js';

let t: TestService;
let client: pg.Client;

beforeAll(async () => {
  t = await startTestService();
  client = await connectPg(t.databaseUrl);
});
afterAll(async () => {
  await client?.end();
  await t.close();
});

const claimed = (rows: ClaimedRow[], orderId: string) => rows.filter((row) => row.aggregateId === orderId).map((row) => row.sequence);

/** A claim that commits at once without marking anything, as an empty relay cycle would. */
function claimAndLetGo(limit: number): Promise<ClaimedRow[]> {
  return t.service.database.run('transaction', (unit) => unit.read(claimRows(limit)));
}

describe('claiming an order run', () => {
  it('when an order has consecutive Ready rows, then one claim takes them in sequence and stops at a held row', async () => {
    const orderId = randomUUID();
    await insertOutboxRows(client, [
      { orderId, sequence: 1 },
      { orderId, sequence: 2 },
      { orderId, sequence: 3 },
      { orderId, sequence: 4, status: 'Sagas' },
      { orderId, sequence: 5 },
    ]);
    const rows = await claimAndLetGo(10);
    expect(claimed(rows, orderId)).toEqual([1, 2, 3]);
    await client.query('DELETE FROM outbox WHERE aggregate_id = $1', [orderId]);
  });

  it('when a row of the run is parked or backing off, then the claim stops before it, and a row after it waits', async () => {
    const parkedAt3 = randomUUID();
    const backingOffAt3 = randomUUID();
    await insertOutboxRows(client, [1, 2, 3, 4].flatMap((sequence) => [{ orderId: parkedAt3, sequence }, { orderId: backingOffAt3, sequence }]));
    await client.query(`UPDATE outbox SET status = 'Parked' WHERE aggregate_id = $1 AND sequence = 3`, [parkedAt3]);
    await client.query(`UPDATE outbox SET next_attempt_at = now() + interval '1 hour' WHERE aggregate_id = $1 AND sequence = 3`, [backingOffAt3]);
    const rows = await claimAndLetGo(10);
    expect(claimed(rows, parkedAt3)).toEqual([1, 2]);
    expect(claimed(rows, backingOffAt3)).toEqual([1, 2]);
    await client.query('DELETE FROM outbox WHERE aggregate_id = ANY($1::uuid[])', [[parkedAt3, backingOffAt3]]);
  });

  it('when one relay holds an order, then a second claim takes none of its rows but other orders', async () => {
    const busy = randomUUID();
    const free = randomUUID();
    await insertOutboxRows(client, [1, 2, 3].map((sequence) => ({ orderId: busy, sequence })));
    // The first claim's transaction stays open (its rows locked) while the second claims.
    let second: ClaimedRow[] = [];
    const first = await t.service.database.run('transaction', async (unit) => {
      const rows = await unit.read(claimRows(10));
      await insertOutboxRows(client, [1, 2].map((sequence) => ({ orderId: free, sequence })));
      second = await claimAndLetGo(10);
      return rows;
    });
    expect(claimed(first, busy)).toEqual([1, 2, 3]);
    expect(claimed(second, busy)).toEqual([]);
    expect(claimed(second, free)).toEqual([1, 2]);
    await client.query('DELETE FROM outbox WHERE aggregate_id = ANY($1::uuid[])', [[busy, free]]);
  });
});

describe('publishing an order run', () => {
  let relay: RunningRelay;
  let collector: EventCollector;

  beforeAll(async () => {
    await t.service.rabbit.start();
    await t.service.rabbit.waitForConnection(10_000);
    collector = await collectEvents(t.amqpUrl, 'relay-runs.orders', 'Order.#');
    relay = await startRelayRole(t.service);
  });
  afterAll(async () => {
    await relay?.stop();
    await collector?.close();
  });

  it('when a row in the middle of a run fails, then the rows before it are published and the rows after it are not sent', async () => {
    const orderId = randomUUID();
    const ids = await insertOutboxRows(client, [
      { orderId, sequence: 1 },
      { orderId, sequence: 2, routingKey: 'Nowhere.Bound' },
      { orderId, sequence: 3 },
    ]);
    await relay.sweep();
    await eventually('the first row delivered', async () => (collector.events.some((event) => event.body.eventID === ids[0]) ? true : undefined));
    expect((await rowsOf(client, orderId)).map((row) => [row.sequence, row.status, row.attempts])).toEqual([
      [1, 'Published', 0],
      [2, 'Ready', 1],
      [3, 'Ready', 0],
    ]);
    expect(collector.events.map((event) => event.body.eventID).filter((id) => id === ids[1] || id === ids[2])).toEqual([]);
  });
});
