/**
 * A bare outbox relay, the floor the service's relay is measured against (bench/support/outbox-floor.ts,
 * bench/relay-throughput.ts): raw pg and amqplib, nothing else. A cycle is one transaction: BEGIN and the claim in
 * one round trip (Ready rows, oldest first, FOR UPDATE SKIP LOCKED), every row published on one confirm channel in
 * id order, one wait for all confirms, the rows marked Published, COMMIT. Two cycles in flight (the service's relay
 * has two); a cycle whose claim was full claims again at once. Woken by wake() and a one-second sweep.
 * The claim is planned as an index scan, as the service's is (RELAY_PLANNER_SETTINGS in
 * src/outbox/persistence/relay-cycle.ts): as a bitmap scan it revisited every row published since the last vacuum.
 *
 * It relies on being the only relay and on a run of an order's rows not being cut by a claim's limit between two
 * cycles; the service's claim (an order's head and its run) holds per-order sequence without either assumption.
 *
 * `inOrder` makes each cycle keep the service's publishing promise as well: each order's next row is published
 * only from its predecessor's confirm (a refused row stops its order's run), so that a refused row can never be
 * overtaken by a later row of its order. One wave per cycle is faster, but after a nack a retried row would arrive
 * behind rows recorded after it. This variant prices that promise in bare code (the orders' chains in one cycle
 * run side by side, as the service's do). Across its two cycles it takes the same shortcut as above: a later row
 * may be claimed while an earlier one still waits for its confirm in the other cycle (in the saga, rows an approval
 * releases come after the saga request was routed, not necessarily confirmed); the service's claim does not.
 */
import { ORDERS_EXCHANGE } from '../../src/platform/messaging/topology.js';
import type { ConfirmChannel } from 'amqplib';
import type pg from 'pg';

const IN_FLIGHT = 2;

interface ClaimedRow {
  id: string;
  aggregate_id: string;
  event_id: string;
  routing_key: string;
  event_type: string;
  body: string;
  correlation_id: string;
  sequence: number;
}

/** Time spent per phase of a cycle, in ms, and how many cycles each sum covers (the service's relay records the same three). */
export type PhaseTimes = Record<'claim' | 'publish' | 'commit', { ms: number; count: number }>;

export interface BareRelay {
  wake(): void;
  /** Rows published and marked so far. */
  readonly published: number;
  /** Claim (with BEGIN), publish (to the last confirm) and commit (the mark and COMMIT), as the relay's outbox_relay_batch_phase_seconds splits a batch. */
  readonly phases: PhaseTimes;
  stop(): Promise<void>;
}

export function bareRelay(pool: pg.Pool, channel: ConfirmChannel, batch: number, options: { inOrder?: boolean } = {}): BareRelay {
  let again = false;
  let stopped = false;
  let published = 0;
  const workers = new Set<Promise<void>>();
  const phases: PhaseTimes = { claim: { ms: 0, count: 0 }, publish: { ms: 0, count: 0 }, commit: { ms: 0, count: 0 } };

  const cycle = async (): Promise<number> => {
    const client = await pool.connect();
    const ended = phaseTimer(phases);
    try {
      const results = (await client.query(
        `BEGIN; SET LOCAL enable_bitmapscan = off; SELECT id, aggregate_id, event_id, routing_key, event_type, payload::text AS body, correlation_id, sequence FROM outbox
         WHERE status = 'Ready' ORDER BY id LIMIT ${Math.trunc(batch)} FOR UPDATE SKIP LOCKED`,
      )) as unknown as pg.QueryResult<ClaimedRow>[];
      const rows = results[2]!.rows;
      ended('claim');
      let marked = 0;
      if (rows.length > 0) {
        const confirmed = options.inOrder ? await publishRunsInOrder(channel, rows) : await publishWave(channel, rows);
        ended('publish');
        await client.query(`UPDATE outbox SET status = 'Published', published_at = now() WHERE id = ANY($1::bigint[])`, [confirmed]);
        marked = confirmed.length;
      }
      await client.query('COMMIT');
      if (rows.length > 0) ended('commit');
      published += marked;
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  const work = async () => {
    while (!stopped && (await cycle()) >= batch) if (workers.size < IN_FLIGHT) start();
  };
  const start = () => {
    const worker: Promise<void> = work()
      .catch((error) => console.error('bare relay: cycle failed', error))
      .finally(() => {
        workers.delete(worker);
        if (again && !stopped) {
          again = false;
          start();
        }
      });
    workers.add(worker);
  };
  const wake = () => {
    if (stopped) return;
    if (workers.size >= IN_FLIGHT) again = true;
    else start();
  };
  const sweep = setInterval(wake, 1_000);
  return {
    wake,
    get published() {
      return published;
    },
    phases,
    async stop() {
      stopped = true;
      clearInterval(sweep);
      while (workers.size > 0) await Promise.all(workers);
    },
  };
}

/** Times one cycle's phases one after another into `phases` (two cycles run at once: each has its own). */
function phaseTimer(phases: PhaseTimes): (phase: keyof PhaseTimes) => void {
  let since = performance.now();
  return (phase) => {
    const now = performance.now();
    phases[phase].ms += now - since;
    phases[phase].count++;
    since = now;
  };
}

function publish(channel: ConfirmChannel, row: ClaimedRow, confirmed?: (error: unknown) => void): void {
  channel.publish(
    ORDERS_EXCHANGE,
    row.routing_key,
    Buffer.from(row.body),
    {
      persistent: true,
      contentType: 'application/json',
      messageId: row.event_id,
      type: row.event_type,
      headers: { 'x-correlation-id': row.correlation_id, 'x-event-sequence': row.sequence },
    },
    confirmed,
  );
}

/** Every row at once, one wait for all confirms; the ids of the rows to mark. */
async function publishWave(channel: ConfirmChannel, rows: ClaimedRow[]): Promise<string[]> {
  for (const row of rows) publish(channel, row);
  await channel.waitForConfirms();
  return rows.map((row) => row.id);
}

/** Each order's rows as a chain (the next from the previous one's confirm), the chains side by side; the confirmed ids. */
async function publishRunsInOrder(channel: ConfirmChannel, rows: ClaimedRow[]): Promise<string[]> {
  const runs = new Map<string, ClaimedRow[]>();
  for (const row of rows) runs.set(row.aggregate_id, [...(runs.get(row.aggregate_id) ?? []), row]);
  const confirmed: string[] = [];
  const chain = (run: ClaimedRow[]) =>
    new Promise<void>((done) => {
      const next = (index: number) => {
        if (index === run.length) return done();
        publish(channel, run[index]!, (error) => {
          if (error) return done();
          confirmed.push(run[index]!.id);
          next(index + 1);
        });
      };
      next(0);
    });
  await Promise.all([...runs.values()].map((run) => chain(run.sort((a, b) => a.sequence - b.sequence))));
  return confirmed;
}
