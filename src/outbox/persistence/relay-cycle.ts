import { integerArray } from '../../platform/database/array-parameter.js';
import { sql, type Sql } from '../../platform/database/sql.js';
import type { TraceCarrier } from '../../platform/observability/trace-context.js';
import { OutboxStatus } from '../outbox-status.js';

/** The relay's statements, run in one transaction per cycle: claim, then (after the broker's confirms) mark. */

/**
 * A claimed row is also the trace context it was recorded in (traceparent, tracestate, baggage; null without).
 * Times come as float8 ms from date_part: extract() computes in numeric, which made up a quarter of a 2,500-row claim.
 */
export interface ClaimedRow extends TraceCarrier {
  id: number;
  eventId: string;
  aggregateId: string;
  /** The row's place among its order's events; sent as the x-event-sequence header (the projection orders by it). */
  sequence: number;
  exchange: string;
  routingKey: string;
  eventType: string;
  /** The payload as JSON text, ready to send without a parse and stringify. */
  body: string;
  correlationId: string | null;
  attempts: number;
  /** When the row was recorded, in ms since the epoch (numbers, not Dates: the relay parses thousands a second). */
  createdAtMs: number;
  /** When the row became publishable (commit or saga release), in ms since the epoch; latency is measured from here. */
  readyAtMs: number;
}

/**
 * How the relay's transactions are planned. Its claim and its mark are prepared statements (where the pool mode
 * allows: Database), planned generically (plan_cache_mode; it applies to unnamed statements too): PostgreSQL planned
 * the claim afresh on every call, about 1 ms, more than running it took (saga chain at 50 orders/s: 1.69 ms of
 * planning per order against 0.45 of execution; the claim's wall time over 40 alternating runs, 1.05 against
 * 1.84 ms with one order to claim, 6.2 against 6.8 ms with 500).
 *
 * A generic plan is made once, from whatever the table looked like then (a new deployment's empty outbox), and kept
 * until the table's statistics change: it must be right whatever they say. So:
 * - no bitmap scans: on an outbox that autovacuum had not analyzed yet, PostgreSQL planned the claim's heads as a
 *   bitmap scan of outbox_ready_idx, which never marks the entries of rows that left Ready as dead, so every claim
 *   visited all the rows published since the last vacuum again (its mean time grew 1.64 -> 3.96 ms over a minute
 *   at 50 orders/s; after 43 s it read 7,387 dead entries and 1,144 heap pages to find no Ready row). An index
 *   scan marks them as it passes (3,020 buffers once, then 22);
 * - no sequential scans: a plan made on the empty table probed each head's earlier rows by a scan of the whole
 *   table (137 ms for 30 orders once 15,000 rows were there);
 * - the statuses that the partial indexes name, and the batch size, are constants in the text (a parameter's
 *   value is unknown to a generic plan, which then cannot use a partial index);
 * - a test of "Ready" that joins an order's rows is written so that only the per-order indexes serve it (see
 *   readyByOrder): outbox_ready_idx would be read whole for each order;
 * - every probe by order is a correlated subquery, not a join (see claimRows);
 * - no JIT: the claim's estimated cost (about 640,000, its per-row probes counted for every row the planner thinks it
 *   may scan) is past jit_optimize_above_cost, so PostgreSQL compiled it with inlining and optimization first: about
 *   300 ms for a claim that runs in 15 (relay-throughput, pg_stat_statements: the prepared claim spent half its
 *   time in a drain compiling, one planned per call 3,761 of its 4,279 ms). The relay's statements never run long
 *   enough to gain from it.
 * A backlog is planned as an index scan of outbox_ready_idx anyway (oldest first, stopping at the limit).
 */
export const RELAY_PLANNER_SETTINGS = { enable_bitmapscan: 'off', enable_seqscan: 'off', jit: 'off', plan_cache_mode: 'force_generic_plan' } as const;

const READY = sql.constant(OutboxStatus.Ready);

/** Statuses of a row that is not finished (an order's later rows wait behind it), as outbox_unfinished_idx lists them. */
const UNFINISHED = sql.join([OutboxStatus.Ready, OutboxStatus.Held, OutboxStatus.Parked].map(sql.constant), sql`, `);

/**
 * "Ready", for a row the statement finds through its order (by its alias): unfinished, but neither held nor parked.
 * It means the same as status = 'Ready', but PostgreSQL cannot prove outbox_ready_idx's predicate from it, so the
 * plan probes outbox_unfinished_idx by order instead of reading the Ready rows of every order once per order.
 */
const readyByOrder = (alias: Sql) =>
  sql`${alias}.status IN (${UNFINISHED}) AND ${alias}.status NOT IN (${sql.constant(OutboxStatus.Held)}, ${sql.constant(OutboxStatus.Parked)})`;

/**
 * Locks the publishable rows of up to `limit` orders until the transaction ends: the heads oldest first, then the
 * rows of their runs, in no promised order (the relay puts each order's rows in sequence; sorting 2,500 wide rows
 * here cost PostgreSQL 4-7 ms of a 25-30 ms claim).
 *
 * An order's publishable rows are its head, the first row that is not finished (no earlier row Ready, held or
 * Parked) when that head is Ready and not backing off, and the Ready rows right after it (its run), up to the
 * first one that is held, parked or backing off. So the three events an approval releases go out in one cycle.
 *
 * `confirmedHere`: rows that this relay published and the broker confirmed in batches not yet committed. They
 * count as finished (what follows them may go: they are on the broker already). Without it, the events an approval
 * releases behind the saga request would wait for the commit of the batch that published it, that is for the
 * slowest confirm chain of every other order in that batch. Only the relay that saw the confirms may do this; any
 * other relay sees those rows Ready and waits, as before. They are never claimed again: their batch holds their
 * locks (SKIP LOCKED passes over them as heads, and a run never reaches one: its order's rows before it, the head
 * included, are confirmed too). So the heads' scan passes over them before it probes their earlier rows (in a drain,
 * the other batch's 2,500 rows, each probed in vain: 29-36 -> 21-23 ms a claim), and the runs never test them (doing
 * so made PostgreSQL plan the runs as a scan of the whole table: 48 -> 30 ms a claim). Passing only the latest 64
 * made the fault suite's crash step time out 2,885-7,391 of 10,000 sagas (none with the whole list): rows behind an
 * older confirmed row waited too long, so the whole list goes, as an array parameter of the prepared statement,
 * tested as `NOT IN (SELECT unnest(list))`: a hashed subplan, built once per execution. The other ways cost more
 * for a list of 2,500 (relay-throughput's drain; claims of 2,500 rows beside a batch holding 2,500, medians of 15):
 * `<> ALL(list)` tests each row against the list element by element, 62-65 ms; the list written into the text as a
 * constant is hashed, but the claim is then parsed and planned for each call, 23-28 ms; the hashed parameter 17-20
 * ms, as fast as no list at all (18-21 ms).
 *
 * That rule is what keeps an order's events in sequence with several relays. The head is taken with SKIP LOCKED;
 * while one relay holds it, it is still Ready in every other relay's view, so no other relay can take any later
 * row of that order until this one has its confirms and commits. Relays pass over each other's orders instead
 * of waiting. The run's rows are locked without SKIP LOCKED: no other relay can hold them (see above).
 *
 * Plan: outbox_ready_idx in id order (oldest first), with outbox_unfinished_idx probes per head; per head, one
 * probe finds the first row that stops its run (the blocker) and one reads the run up to it. (Asking "nothing
 * unfinished between the head and this row" per run row instead made PostgreSQL scan the whole table once per
 * claim: 30 ms against 16 ms for a 2,500-row claim from a 50,000-row outbox.) The runs are a subquery, not a second
 * CTE: a CTE would copy its 2,000 wide rows into a store first (about a tenth of the claim's time, measured).
 * Every probe by order is a correlated subquery (the runs' a LATERAL one that locks, which PostgreSQL cannot flatten),
 * not a join: a generic plan made on an empty table ran the heads' NOT EXISTS as an anti join that read all of
 * outbox_unfinished_idx for each head (5,536 index rows per head; claims of 0.45-3.4 s at 500 orders/s).
 */
export function claimRows(limit: number, confirmedHere: readonly number[] = []): Sql<ClaimedRow> {
  const columns = (alias: Sql) => sql`${alias}.id, ${alias}.event_id AS "eventId", ${alias}.aggregate_id AS "aggregateId", ${alias}.sequence,
    ${alias}.exchange, ${alias}.routing_key AS "routingKey", ${alias}.event_type AS "eventType", ${alias}.payload::text AS body,
    ${alias}.correlation_id AS "correlationId", ${alias}.attempts,
    round(date_part('epoch', ${alias}.created_at) * 1000) AS "createdAtMs",
    round(date_part('epoch', coalesce(${alias}.ready_at, ${alias}.created_at)) * 1000) AS "readyAtMs",
    ${alias}.trace_parent AS traceparent, ${alias}.trace_state AS tracestate, ${alias}.baggage`;
  const notConfirmed = (alias: Sql) => sql`${alias}.id NOT IN (SELECT unnest(${integerArray(confirmedHere)}::bigint[]))`;
  const claim = sql<ClaimedRow>`
    WITH heads AS (
      SELECT ${columns(sql`o`)}
      FROM outbox o
      WHERE o.status = ${READY}
        AND o.next_attempt_at <= now()
        AND ${notConfirmed(sql`o`)}
        AND (SELECT earlier.id FROM outbox earlier
             WHERE earlier.aggregate_id = o.aggregate_id
               AND earlier.sequence < o.sequence
               AND earlier.status IN (${UNFINISHED})
               AND ${notConfirmed(sql`earlier`)}
             LIMIT 1) IS NULL
      ORDER BY o.id
      LIMIT ${sql.constant(limit)}
      FOR UPDATE OF o SKIP LOCKED
    )
    SELECT * FROM heads
    UNION ALL
    SELECT * FROM (
      SELECT ${columns(sql`r`)}
      FROM heads h
      CROSS JOIN LATERAL (
        SELECT min(b.sequence) AS sequence
        FROM outbox b
        WHERE b.aggregate_id = h."aggregateId"
          AND b.sequence > h.sequence
          AND b.status IN (${UNFINISHED})
          AND NOT (b.status = ${READY} AND b.next_attempt_at <= now())
      ) blocker
      CROSS JOIN LATERAL (
        SELECT * FROM outbox r
        WHERE r.aggregate_id = h."aggregateId"
          AND r.sequence > h.sequence
          AND ${readyByOrder(sql`r`)}
          AND r.next_attempt_at <= now()
          AND (blocker.sequence IS NULL OR r.sequence < blocker.sequence)
        FOR UPDATE
      ) r
    ) AS runs`;
  return claim.prepared(`relay-claim-${limit}`);
}

export interface FailedRow {
  id: number;
  /** Ready to be tried again after the delay, or Parked for an operator. */
  status: typeof OutboxStatus.Ready | typeof OutboxStatus.Parked;
  delayMs: number;
  error: string;
}

/**
 * Counts the attempt of each failed row and schedules its next one (or parks it), in one statement. The ids are
 * also an index condition of their own, so the join cannot be planned as a read of the whole table (the relay's
 * transactions plan generically; see RELAY_PLANNER_SETTINGS).
 */
export function markFailed(rows: FailedRow[]): Sql {
  return sql`
    UPDATE outbox o
    SET attempts = o.attempts + 1,
        status = f.status,
        -- From the moment of failure, not from the transaction's start (now()), which was before the publish.
        next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond',
        last_error = f.error
    FROM unnest(${rows.map((row) => row.id)}::bigint[], ${rows.map((row) => row.status)}::text[], ${rows.map((row) => row.delayMs)}::int[],
                ${rows.map((row) => row.error.slice(0, 1000))}::text[]) AS f(id, status, delay_ms, error)
    WHERE o.id = f.id AND o.id = ANY(${integerArray(rows.map((row) => row.id))}::bigint[])`;
}

/** Where a batch's run of an order ended: its last claimed sequence. */
export interface RunEnd {
  aggregateId: string;
  sequence: number;
}

/**
 * Marks the rows the broker confirmed, and says whether any of the batch's orders has a Ready row after the run
 * the batch claimed: one released (an approval) while this batch held the row before it, which no other claim
 * could take and which this commit makes claimable. (The statement's snapshot still shows the marked rows as
 * Ready, hence "after the run".) One index probe per order, a correlated subquery for the reason claimRows gives.
 */
export function markPublished(ids: number[], runEnds: RunEnd[]): Sql<{ releasedBehind: boolean }> {
  return sql<{ releasedBehind: boolean }>`
    WITH marked AS (
      UPDATE outbox SET status = ${sql.constant(OutboxStatus.Published)}, published_at = now(), last_error = NULL WHERE id = ANY(${integerArray(ids)}::bigint[])
    )
    SELECT EXISTS (
      SELECT 1
      FROM unnest(${runEnds.map((end) => end.aggregateId)}::uuid[], ${runEnds.map((end) => end.sequence)}::int[]) AS run(aggregate_id, last_sequence)
      WHERE (SELECT o.id FROM outbox o
             WHERE o.aggregate_id = run.aggregate_id AND o.sequence > run.last_sequence AND ${readyByOrder(sql`o`)}
             LIMIT 1) IS NOT NULL
    ) AS "releasedBehind"`.prepared('relay-mark');
}
