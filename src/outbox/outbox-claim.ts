import type pg from 'pg';

export interface ClaimedRow {
  id: bigint;
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
  createdAt: Date;
  /** When the row became publishable (commit or saga release); latency is measured from here. */
  readyAt: Date;
}

/*
 * The relay's transaction, on a pg client of its own rather than Prisma's interactive transaction: a cycle is
 * two round trips, "BEGIN; claim" and "mark; COMMIT", each sent as one simple-protocol query. That is why the
 * values in these statements are written into the text (integers only, which cannot inject anything) instead
 * of being bound: the simple protocol takes no parameters, and the extended one takes one statement at a time.
 */

/** The columns of a claimed row, from the outbox row aliased `alias`. */
function claimedColumns(alias: string): string {
  return `${alias}.id, ${alias}.event_id AS "eventId", ${alias}.aggregate_id AS "aggregateId", ${alias}.sequence,
    ${alias}.exchange, ${alias}.routing_key AS "routingKey", ${alias}.event_type AS "eventType", ${alias}.payload::text AS body,
    ${alias}.correlation_id AS "correlationId", ${alias}.attempts, ${alias}.created_at AS "createdAt",
    coalesce(${alias}.ready_at, ${alias}.created_at) AS "readyAt"`;
}

/**
 * Opens the relay's transaction and locks the publishable rows of up to `limit` orders until it ends, in
 * (order, sequence) order.
 *
 * An order's publishable rows are its head, the first row that is not finished (no earlier row Ready, held in
 * Sagas or Parked) when that head is Ready and not backing off, and the Ready rows right after it (its run),
 * up to the first one that is held, parked or backing off. So the three events an approval releases go out in
 * one cycle, not in three.
 *
 * That rule is what keeps an order's events in sequence with several relays. The head is taken with SKIP LOCKED;
 * while one relay holds it, it is still Ready in every other relay's view, so no other relay can take any later
 * row of that order until this one has its confirms and commits. Relays pass over each other's orders instead
 * of waiting. The run's rows are locked without SKIP LOCKED: no other relay can hold them (see above).
 *
 * Plan: outbox_ready_idx in id order (oldest first), with outbox_unfinished_idx probes per head and run row.
 */
export async function beginClaim(client: pg.ClientBase, limit: number): Promise<ClaimedRow[]> {
  const results = (await client.query(`BEGIN;
    WITH heads AS (
      SELECT ${claimedColumns('o')}
      FROM outbox o
      WHERE o.status = 'Ready'
        AND o.next_attempt_at <= now()
        AND NOT EXISTS (
          SELECT 1 FROM outbox earlier
          WHERE earlier.aggregate_id = o.aggregate_id
            AND earlier.sequence < o.sequence
            AND earlier.status IN ('Ready', 'Sagas', 'Parked'))
      ORDER BY o.id
      LIMIT ${wholeNumber(limit)}
      FOR UPDATE OF o SKIP LOCKED
    ), runs AS (
      SELECT ${claimedColumns('r')}
      FROM heads h
      JOIN outbox r ON r.aggregate_id = h."aggregateId" AND r.sequence > h.sequence
      WHERE r.status = 'Ready'
        AND r.next_attempt_at <= now()
        AND NOT EXISTS (
          SELECT 1 FROM outbox between_rows
          WHERE between_rows.aggregate_id = h."aggregateId"
            AND between_rows.sequence > h.sequence
            AND between_rows.sequence < r.sequence
            AND between_rows.status IN ('Ready', 'Sagas', 'Parked')
            AND NOT (between_rows.status = 'Ready' AND between_rows.next_attempt_at <= now()))
      FOR UPDATE OF r
    )
    SELECT * FROM heads
    UNION ALL
    SELECT * FROM runs
    ORDER BY "aggregateId", sequence`)) as unknown as pg.QueryResult[];
  return results[1]!.rows.map((row) => ({ ...row, id: BigInt(row.id) }));
}

export interface FailedRow {
  id: bigint;
  /** Ready to be tried again after the delay, or Parked for an operator. */
  status: 'Ready' | 'Parked';
  delayMs: number;
  error: string;
}

/** Counts the attempt of each failed row and schedules its next one (or parks it), in one statement. */
export async function markFailed(client: pg.ClientBase, rows: FailedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `UPDATE outbox o
     SET attempts = o.attempts + 1,
         status = f.status,
         -- From the moment of failure, not from the transaction's start (now()), which was before the publish.
         next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond',
         last_error = f.error
     FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[]) AS f(id, status, delay_ms, error)
     WHERE o.id = f.id`,
    [rows.map((row) => String(row.id)), rows.map((row) => row.status), rows.map((row) => row.delayMs), rows.map((row) => row.error.slice(0, 1000))],
  );
}

/** Marks the published rows and commits the relay's transaction, in one round trip. */
export async function markPublishedAndCommit(client: pg.ClientBase, ids: bigint[]): Promise<void> {
  if (ids.length === 0) {
    await client.query('COMMIT');
    return;
  }
  await client.query(`UPDATE outbox SET status = 'Published', published_at = now(), last_error = NULL
    WHERE id = ANY('{${ids.map(wholeNumber).join(',')}}'::bigint[]);
    COMMIT`);
}

/** A value written into SQL text: only a non-negative integer gets through. */
function wholeNumber(value: number | bigint): string {
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new Error(`not a whole number: ${text}`);
  return text;
}
