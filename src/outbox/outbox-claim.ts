import type { Transaction } from '../platform/database/transaction-context.js';

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
  /** A later row of the same order is Ready: publishing this one unblocks it, so the relay claims again. */
  hasReadySuccessor: boolean;
}

/**
 * Locks up to `limit` publishable rows until the transaction ends. Publishable means Ready, not backing off,
 * and the head of its order: no earlier row of the same order is still Ready, held (Sagas) or Parked.
 *
 * That head rule is what keeps an order's events in sequence with several relays. A row locked by another
 * relay is still Ready, so the rows behind it are not publishable until that relay has its confirm and
 * commits; SKIP LOCKED only makes relays pass over each other's rows instead of waiting. A backing-off,
 * held or parked row blocks the later rows of its own order and no other.
 *
 * Plan: outbox_ready_idx in id order (oldest first), with an outbox_unfinished_idx probe per row.
 */
export function claimReadyRows(tx: Transaction, limit: number): Promise<ClaimedRow[]> {
  return tx.$queryRaw<ClaimedRow[]>`
    SELECT o.id, o.event_id AS "eventId", o.aggregate_id AS "aggregateId", o.sequence, o.exchange, o.routing_key AS "routingKey",
           o.event_type AS "eventType", o.payload::text AS body, o.correlation_id AS "correlationId", o.attempts,
           o.created_at AS "createdAt", coalesce(o.ready_at, o.created_at) AS "readyAt",
           EXISTS (
             SELECT 1 FROM outbox later
             WHERE later.aggregate_id = o.aggregate_id AND later.sequence > o.sequence AND later.status = 'Ready'
           ) AS "hasReadySuccessor"
    FROM outbox o
    WHERE o.status = 'Ready'
      AND o.next_attempt_at <= now()
      AND NOT EXISTS (
        SELECT 1 FROM outbox earlier
        WHERE earlier.aggregate_id = o.aggregate_id
          AND earlier.sequence < o.sequence
          AND earlier.status IN ('Ready', 'Sagas', 'Parked'))
    ORDER BY o.id
    LIMIT ${limit}
    FOR UPDATE OF o SKIP LOCKED`;
}

export async function markPublished(tx: Transaction, ids: bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.$executeRaw`
    UPDATE outbox SET status = 'Published', published_at = now(), last_error = NULL
    WHERE id = ANY(${ids.map(String)}::bigint[])`;
}

export interface FailedRow {
  id: bigint;
  /** Ready to be tried again after the delay, or Parked for an operator. */
  status: 'Ready' | 'Parked';
  delayMs: number;
  error: string;
}

/** Counts the attempt of each failed row and schedules its next one (or parks it), in one statement. */
export async function markFailed(tx: Transaction, rows: FailedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.$executeRaw`
    UPDATE outbox o
    SET attempts = o.attempts + 1,
        status = f.status,
        -- From the moment of failure, not from the transaction's start (now()), which was before the publish.
        next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond',
        last_error = f.error
    FROM unnest(${rows.map((row) => String(row.id))}::bigint[], ${rows.map((row) => row.status)}::text[],
                ${rows.map((row) => row.delayMs)}::int[], ${rows.map((row) => row.error.slice(0, 1000))}::text[])
      AS f(id, status, delay_ms, error)
    WHERE o.id = f.id`;
}
