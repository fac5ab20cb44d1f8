import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { claimRows, type ClaimedRow } from '../../src/outbox/persistence/relay-cycle.js';
import { startRelayRole, type RunningRelay } from '../../src/composition/relay-role.js';
import { OutboxRelay, type RelayPublisher } from '../../src/outbox/relay.js';
import { Database } from '../../src/platform/database/database.js';
import type { UnitOfWork } from '../../src/platform/database/unit-of-work.js';
import type { OutgoingMessage, PublishOutcome } from '../../src/platform/messaging/rabbitmq-publisher.js';
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

const publishedCount = async (orderId: string) =>
  (await client.query(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND status = 'Published'`, [orderId])).rows[0].n as number;

/** The relays these tests start by hand: small batches, two in flight as in the service. */
const RELAY_OPTIONS = { batchSize: 10, maxAttempts: 3, timeoutMs: 5_000, concurrency: 2 };

/** The sequences of one order's claimed rows, ascending (the claim promises which rows, not their order). */
const claimed = (rows: ClaimedRow[], orderId: string) =>
  rows
    .filter((row) => row.aggregateId === orderId)
    .map((row) => row.sequence)
    .sort((a, b) => a - b);

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

/** Confirms every message at once, except that a sequence-1 row is confirmed only once the gate opens. */
class GatedPublisher implements RelayPublisher {
  readonly isReady = true;
  readonly sent: OutgoingMessage[] = [];
  open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  async publishRuns<T extends { readonly exchange: string }>(
    runs: readonly (readonly T[])[],
    toMessage: (item: T) => OutgoingMessage,
    confirmed?: (item: T) => void,
  ): Promise<Map<T, PublishOutcome>> {
    const outcomes = new Map<T, PublishOutcome>();
    const publishRun = async (run: readonly T[]) => {
      for (const item of run) {
        const message = toMessage(item);
        this.sent.push(message);
        if (message.sequence === 1) await this.gate;
        outcomes.set(item, { ok: true, confirmedAt: Date.now() });
        confirmed?.(item);
      }
    };
    await Promise.all(runs.map(publishRun));
    return outcomes;
  }
}

describe('rows released while the row before them is in another batch', () => {
  it('when an approval releases rows behind a row published but not yet marked, then the relay claims them once that batch commits, with no other wake-up', async () => {
    const orderId = randomUUID();
    await insertOutboxRows(client, [1, 2, 3, 4].map((sequence) => ({ orderId, sequence, status: sequence === 1 ? ('Ready' as const) : ('Sagas' as const) })));
    const publisher = new GatedPublisher();
    let cyclesDone = 0;
    // The service's database, counting finished relay cycles; no sweep, listener or signal wakes this relay.
    const database = {
      run: async (...args: Parameters<Database['run']>) => {
        try {
          return await t.service.database.run(...args);
        } finally {
          cyclesDone++;
        }
      },
    } as unknown as Database;
    const relay = new OutboxRelay(database, publisher, t.service.metrics, t.service.logger, RELAY_OPTIONS);

    relay.wake();
    await eventually('the first batch to publish sequence 1', async () => publisher.sent.length === 1);
    // The approval: the held rows become Ready, and the relay is woken for them once.
    await client.query(`UPDATE outbox SET status = 'Ready', ready_at = now() WHERE aggregate_id = $1 AND sequence > 1`, [orderId]);
    relay.wake();
    await eventually('the second batch to find nothing it may claim', async () => cyclesDone === 1);
    expect(publisher.sent.map((message) => message.sequence)).toEqual([1]);

    publisher.open();
    await eventually('the released rows to be published', async () => publisher.sent.length === 4);
    expect(publisher.sent.map((message) => message.sequence)).toEqual([1, 2, 3, 4]);
    await relay.stop();
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND status = 'Published'`, [orderId]);
    expect(rows[0].n).toBe(4);
    await client.query('DELETE FROM outbox WHERE aggregate_id = $1', [orderId]);
  });

  /**
   * The service's database, whose relay cycles run `hook` (once) before their mark statement, which goes out with
   * the batch's commit: after the batch's confirms, before its commit.
   */
  function databaseWithHookBeforeCommit(hook: { run?: () => Promise<void> }, cycles: { done: number }): Database {
    return {
      run: async (kind: Parameters<Database['run']>[0], work: (unit: UnitOfWork) => Promise<unknown>) => {
        try {
          return await t.service.database.run(kind, (unit) =>
            work({
              kind: unit.kind,
              read: (statement) => unit.read(statement),
              write: (statement) => unit.write(statement),
              afterCommit: (callback) => unit.afterCommit(callback),
              writeAndCommit: async (statement) => {
                const run = hook.run;
                if (run && statement.toQuery().text.includes('"releasedBehind"')) {
                  hook.run = undefined;
                  await run();
                }
                return unit.writeAndCommit(statement);
              },
            }),
          );
        } finally {
          cycles.done++;
        }
      },
    } as unknown as Database;
  }

  it('when the approval commits after the batch holding the row before it has its confirm, but before that batch commits, then another batch of the relay publishes the released rows without waiting for that commit', async () => {
    const orderId = randomUUID();
    await insertOutboxRows(client, [1, 2, 3, 4].map((sequence) => ({ orderId, sequence, status: sequence === 1 ? ('Ready' as const) : ('Sagas' as const) })));
    const publisher = new GatedPublisher();
    publisher.open();
    const cycles = { done: 0 };
    const hook: { run?: () => Promise<void> } = {};
    const relay = new OutboxRelay(databaseWithHookBeforeCommit(hook, cycles), publisher, t.service.metrics, t.service.logger, RELAY_OPTIONS);
    hook.run = async () => {
      // Sequence 1 is confirmed but not marked nor committed (still Ready to everyone else) when the approval commits.
      await client.query(`UPDATE outbox SET status = 'Ready', ready_at = now() WHERE aggregate_id = $1 AND sequence > 1`, [orderId]);
      relay.wake();
      await eventually('the second batch to publish the released rows and commit', async () => cycles.done === 1);
      expect(publisher.sent.map((message) => message.sequence)).toEqual([1, 2, 3, 4]);
      expect(await publishedCount(orderId)).toBe(3);
    };

    relay.wake();
    await eventually('both batches to commit', async () => (await publishedCount(orderId)) === 4);
    await relay.stop();
    expect(publisher.sent.map((message) => message.sequence)).toEqual([1, 2, 3, 4]);
    await client.query('DELETE FROM outbox WHERE aggregate_id = $1', [orderId]);
  });

  it('when a batch holds a confirmed but uncommitted row and the approval wakes every relay, then another relay (as in another process) takes nothing behind that row, and only the relay that saw the confirm publishes the released rows', async () => {
    const orderId = randomUUID();
    await insertOutboxRows(client, [1, 2, 3, 4].map((sequence) => ({ orderId, sequence, status: sequence === 1 ? ('Ready' as const) : ('Sagas' as const) })));
    const publisher = new GatedPublisher();
    publisher.open();
    const otherPublisher = new GatedPublisher();
    otherPublisher.open();
    const cycles = { done: 0 };
    const otherCycles = { done: 0 };
    const hook: { run?: () => Promise<void> } = {};
    const relay = new OutboxRelay(databaseWithHookBeforeCommit(hook, cycles), publisher, t.service.metrics, t.service.logger, RELAY_OPTIONS);
    const other = new OutboxRelay(databaseWithHookBeforeCommit({}, otherCycles), otherPublisher, t.service.metrics, t.service.logger, RELAY_OPTIONS);
    hook.run = async () => {
      await client.query(`UPDATE outbox SET status = 'Ready', ready_at = now() WHERE aggregate_id = $1 AND sequence > 1`, [orderId]);
      other.wake();
      await eventually('the other relay to find nothing it may claim', async () => otherCycles.done === 1);
      relay.wake();
      await eventually('the first relay to publish the released rows from its second batch', async () => cycles.done === 1);
    };

    relay.wake();
    await eventually('both batches of the first relay to commit', async () => (await publishedCount(orderId)) === 4);
    await relay.stop();
    await other.stop();
    expect(publisher.sent.map((message) => message.sequence)).toEqual([1, 2, 3, 4]);
    expect(otherPublisher.sent).toEqual([]);
    await client.query('DELETE FROM outbox WHERE aggregate_id = $1', [orderId]);
  });
});

describe('a confirm that comes after its batch ended', () => {
  it('when a batch is cut off by its bound while a confirm is still coming, then the late confirm does not hide the row from the relay\'s later claims', async () => {
    const orderId = randomUUID();
    await insertOutboxRows(client, [{ orderId, sequence: 1 }]);
    const publisher = new GatedPublisher();
    // The smallest bound a unit of work has: 10 s (Database). The claim locks sequence 1, its confirm waits for the gate.
    const database = new Database({ url: t.databaseUrl, poolSize: 2, timeoutMs: 100 });
    const relay = new OutboxRelay(database, publisher, t.service.metrics, t.service.logger, RELAY_OPTIONS);
    try {
      relay.wake();
      await eventually('the batch to publish sequence 1', async () => publisher.sent.length === 1);
      await relay.drain(); // returns once the batch was cut off: its connection destroyed, the row Ready again
      publisher.open(); // the confirm arrives now, after the batch ended

      // Woken again until then, as the relay role's one-second sweep would: the first claim after the cut-off can
      // fail for reasons of its own on a loaded machine (the pool's 100 ms connect bound for the connection that
      // replaces the destroyed one), and nothing else here would wake the relay. The late confirm, if counted, would
      // hide the row from every later claim, so a relay that keeps claiming still shows it.
      await eventually('sequence 1 to be claimed and published again', async () => {
        relay.wake();
        return (await publishedCount(orderId)) === 1;
      }, 20_000);
      expect(publisher.sent.map((message) => message.sequence)).toEqual([1, 1]);
    } finally {
      await relay.stop();
      await database.close();
      await client.query('DELETE FROM outbox WHERE aggregate_id = $1', [orderId]);
    }
  }, 60_000);
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
