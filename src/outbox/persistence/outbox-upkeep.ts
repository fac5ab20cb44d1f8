import { sql, type Sql } from '../../platform/database/sql.js';
import { OutboxStatus } from '../outbox-status.js';

/** The outbox statements of the jobs and the operator's tool: whole statements. */

/**
 * The ready, backlog and parked counts the outbox gauges show. Partial indexes keep this cheap while the backlog
 * is small; during a backlog it reads every Ready row at each refresh (every 5 seconds), so the count and the
 * oldest age share one pass (while a relay drained 50,000 rows with a refresh every second: 589 ms of statement
 * time in two passes, 210-263 ms in one).
 */
export function gaugeCounts(): Sql<{ ready: number; oldestSeconds: number | null; parked: number }> {
  return sql`
    SELECT ready.rows AS ready, ready."oldestSeconds",
           (SELECT count(*) FROM outbox WHERE status = ${OutboxStatus.Parked}) AS parked
    FROM (SELECT count(*) AS rows, date_part('epoch', now() - min(coalesce(ready_at, created_at))) AS "oldestSeconds"
          FROM outbox WHERE status = ${OutboxStatus.Ready}) AS ready`;
}

/** Rows by status, with the oldest of each (the operator's `npm run outbox -- status`). */
export function countByStatus(): Sql<{ status: string; rows: number; oldest: Date | null }> {
  return sql`SELECT status, count(*) AS rows, min(created_at) AS oldest FROM outbox GROUP BY status ORDER BY status`;
}

/**
 * At most `limit` rows published before now - retentionMs, oldest first. SKIP LOCKED lets two schedulers share
 * the work instead of queueing behind each other. Returns the deleted ids.
 */
export function deletePublishedBefore(retentionMs: number, limit: number): Sql<{ id: number }> {
  return sql`
    DELETE FROM outbox WHERE id IN (
      SELECT id FROM outbox
      WHERE status = ${OutboxStatus.Published} AND published_at < now() - ${retentionMs}::float8 * interval '1 millisecond'
      ORDER BY published_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING id`;
}

/** The operator's retry: parked rows become Ready with a fresh attempt budget. */
export function retryParked(): Sql<{ id: number }> {
  return sql`
    UPDATE outbox SET status = ${OutboxStatus.Ready}, attempts = 0, next_attempt_at = now(), ready_at = now()
    WHERE status = ${OutboxStatus.Parked}
    RETURNING id`;
}
