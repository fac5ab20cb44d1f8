import type { Database } from '../platform/database/prisma.js';
import { deleteInBatches } from '../platform/database/delete-in-batches.js';

const BATCH_SIZE = 1_000;
/** Batches per run: a big backlog is worked off over several runs instead of one long, lock-heavy one. */
const MAX_BATCHES = 20;

/**
 * Deletes inbox rows older than the retention (INBOX_RETENTION). A row only has to outlive any redelivery of its
 * message: the broker redelivers within minutes (an unacknowledged message on a lost channel), and the default
 * week also covers a message that sat unacknowledged through a long outage. Compared with PostgreSQL's clock,
 * which also set received_at. Deletes BATCH_SIZE at a time (short statements on the received_at
 * index) until a batch comes back short. SKIP LOCKED lets two schedulers share the work. Returns the count.
 */
export async function deleteExpiredInboxRows(database: Database, retentionMs: number): Promise<number> {
  return deleteInBatches(
    () => database.$executeRaw`
      DELETE FROM inbox WHERE (consumer, message_id) IN (
        SELECT consumer, message_id FROM inbox
        WHERE received_at < now() - ${retentionMs}::float8 * interval '1 millisecond'
        ORDER BY received_at
        LIMIT ${BATCH_SIZE}
        FOR UPDATE SKIP LOCKED)`,
    BATCH_SIZE,
    MAX_BATCHES,
  );
}
