import type { Database } from '../platform/database/prisma.js';
import { deleteInBatches } from '../platform/database/delete-in-batches.js';
import type { Metrics } from '../platform/observability/metrics.js';

/** Rows per retention DELETE: short statements that never hold many locks or bloat one transaction. */
export const RETENTION_BATCH = 5_000;
/** Bounds one retention run (this many batches); whatever is left waits for the next run. */
const RETENTION_MAX_BATCHES = 100;

/** Sets the backlog, oldest-ready-age and parked gauges from the table (partial indexes keep this cheap). */
export async function refreshOutboxGauges(database: Database, metrics: Metrics): Promise<void> {
  const [row] = await database.$queryRaw<{ ready: bigint; oldestSeconds: number | null; parked: bigint }[]>`
    SELECT (SELECT count(*) FROM outbox WHERE status = 'Ready') AS ready,
           (SELECT extract(epoch FROM now() - min(coalesce(ready_at, created_at)))::float8 FROM outbox WHERE status = 'Ready') AS "oldestSeconds",
           (SELECT count(*) FROM outbox WHERE status = 'Parked') AS parked`;
  metrics.outboxReadyBacklog.set(Number(row?.ready ?? 0));
  metrics.outboxOldestReadyAge.set(Math.max(0, row?.oldestSeconds ?? 0));
  metrics.outboxParkedRows.set(Number(row?.parked ?? 0));
}

/**
 * Deletes rows published more than retentionMs ago, RETENTION_BATCH at a time until a batch comes back short.
 * SKIP LOCKED lets two schedulers share the work instead of queueing behind each other.
 */
export async function deletePublishedRows(database: Database, retentionMs: number): Promise<number> {
  return deleteInBatches(
    () => database.$executeRaw`
      DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox
        WHERE status = 'Published' AND published_at < now() - ${retentionMs}::float8 * interval '1 millisecond'
        ORDER BY published_at
        LIMIT ${RETENTION_BATCH}
        FOR UPDATE SKIP LOCKED)`,
    RETENTION_BATCH,
    RETENTION_MAX_BATCHES,
  );
}

/** The operator's retry: parked rows become Ready with a fresh attempt budget; relays are woken. */
export async function retryParkedRows(database: Database): Promise<number> {
  const count = await database.$executeRaw`
    UPDATE outbox SET status = 'Ready', attempts = 0, next_attempt_at = now(), ready_at = now()
    WHERE status = 'Parked'`;
  if (count > 0) await database.$executeRaw`SELECT pg_notify('outbox_ready', '')`;
  return count;
}

export async function countRowsByStatus(database: Database): Promise<{ status: string; rows: number; oldest: Date | null }[]> {
  const rows = await database.$queryRaw<{ status: string; rows: bigint; oldest: Date | null }[]>`
    SELECT status, count(*) AS rows, min(created_at) AS oldest FROM outbox GROUP BY status ORDER BY status`;
  return rows.map((row) => ({ status: row.status, rows: Number(row.rows), oldest: row.oldest }));
}
