import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/database.js';
import { sql, type Sql } from '../../platform/database/sql.js';
import type { UnitOfWork } from '../../platform/database/unit-of-work.js';
import { deleteInBatches } from '../../platform/database/delete-in-batches.js';

/** Replies recorded per order; later ones are still handled and counted in metrics, only not recorded. */
export const MAX_RECORDED_REPLIES = 20;

export type ReplyOutcome = 'applied' | 'ignored' | 'dead_lettered';

/** One saga reply received for an order, as the order's history shows it. */
export interface ReplyRecord {
  orderId: string;
  /** The inbox's form of the message id (printable, at most 200 characters, or sha256:...), null without one. */
  messageId: string | null;
  decision: 'Approved' | 'Rejected' | null;
  outcome: ReplyOutcome;
  /** Why it was ignored (already_approved, already_rejected, already_timed_out) or dead-lettered (the reason). */
  reason: string | null;
  correlationId: string | null;
}

const RETENTION_BATCH = 1_000;
const RETENTION_MAX_BATCHES = 20;

/**
 * Every statement on `saga_replies`: the log of replies an order received, kept so that its history can say what
 * became of each. Bounded per order by MAX_RECORDED_REPLIES, checked under the order's row lock (the reply's
 * handler holds it; a dead-letter record takes it), so concurrent replies cannot overshoot the bound.
 */
@injectable()
export class SagaReplyLog {
  constructor(@inject(TOKENS.Database) private readonly database: Database) {}

  /**
   * The INSERT of a reply handled under the order's lock, as a part of another statement (the order's save) or
   * alone; nothing is written once the order has MAX_RECORDED_REPLIES.
   */
  insert(record: ReplyRecord): Sql {
    return sql`
      INSERT INTO saga_replies (order_id, message_id, decision, outcome, reason, correlation_id)
      SELECT ${record.orderId}::uuid, ${record.messageId}::text, ${record.decision}::text, ${record.outcome}, ${record.reason}::text,
             ${record.correlationId}::text
      WHERE (SELECT count(*) FROM saga_replies WHERE order_id = ${record.orderId}::uuid) < ${MAX_RECORDED_REPLIES}`;
  }

  /** A reply that changed nothing (the saga had ended): the last statement of the reply's unit of work, and its commit. */
  async recordIgnored(unit: UnitOfWork, record: ReplyRecord): Promise<void> {
    await unit.writeAndCommit(this.insert(record));
  }

  /**
   * A redelivered copy of a recorded reply (the inbox knew it): counted on the reply's record, no new row. The last
   * statement of the reply's unit of work, and its commit.
   */
  async countDuplicate(unit: UnitOfWork, orderId: string, messageId: string): Promise<void> {
    await unit.writeAndCommit(sql`UPDATE saga_replies SET duplicates = duplicates + 1 WHERE order_id = ${orderId}::uuid AND message_id = ${messageId}`);
  }

  /**
   * A reply for an order that was dead-lettered after all (a decision nobody knows, a handler that kept failing).
   * One statement of its own, run once the dead-letter copy exists: it locks the order row (so the bound holds),
   * and writes nothing for an id that is no order, so that replies naming made-up ids leave no rows behind.
   */
  async recordDeadLettered(record: ReplyRecord): Promise<void> {
    await this.database.run('statement', (unit) =>
      unit.write(sql`
        WITH locked AS (SELECT id FROM orders WHERE id = ${record.orderId}::uuid FOR UPDATE)
        INSERT INTO saga_replies (order_id, message_id, decision, outcome, reason, correlation_id)
        SELECT locked.id, ${record.messageId}::text, ${record.decision}::text, ${record.outcome}, ${record.reason}::text, ${record.correlationId}::text
        FROM locked
        WHERE (SELECT count(*) FROM saga_replies WHERE order_id = locked.id) < ${MAX_RECORDED_REPLIES}`),
    );
  }

  /** Deletes records received more than retentionMs ago, bounded batches (SKIP LOCKED: two schedulers share it). */
  deleteOlderThan(retentionMs: number): Promise<number> {
    const batch = sql<{ id: number }>`
      DELETE FROM saga_replies WHERE id IN (
        SELECT id FROM saga_replies
        WHERE received_at < now() - ${retentionMs}::float8 * interval '1 millisecond'
        ORDER BY received_at
        LIMIT ${RETENTION_BATCH}
        FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    return deleteInBatches(this.database, batch, RETENTION_BATCH, RETENTION_MAX_BATCHES);
  }
}
