import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/database.js';
import { sql } from '../../platform/database/sql.js';
import type { ListParams } from '../../kernel/schemas.js';
import { eventsOfAggregate, type StoredEvent } from '../../outbox/persistence/outbox-reads.js';
import { SagaStatus } from '../domain/order-status.js';
import type { ReplyOutcome } from './saga-reply-log.js';

/** One order's saga as the saga list shows it. */
export interface SagaRow {
  orderId: string;
  userId: string;
  status: SagaStatus;
  createdAt: Date;
  deadline: Date;
  endedAt: Date | null;
}

export interface SagaFilter {
  status: SagaStatus;
  /** Only sagas whose order was created at or before this moment (now - olderThan). */
  createdBy: Date;
}

/** A stored reply record, times as ISO 8601 text. */
export interface StoredReply {
  receivedAt: string;
  messageId: string | null;
  decision: 'Approved' | 'Rejected' | null;
  outcome: ReplyOutcome;
  reason: string | null;
  duplicates: number;
}

/** Everything the service still stores about one order's saga, read in one statement. */
export interface StoredHistory extends SagaRow {
  deletedAt: Date | null;
  /** orders.last_event_sequence: how many events the order ever recorded (retention may have deleted some). */
  eventsRecorded: number;
  events: StoredEvent[];
  replies: StoredReply[];
}

/** Pending sagas at this moment: the oldest one's creation, and how many were created at or before each cut-off. */
export interface PendingStats {
  oldestCreatedAt: Date | null;
  createdBy: number[];
}

const SAGA_COLUMNS = sql`o.id AS "orderId", o.user_id AS "userId", o.saga_status AS status, o.created_at AS "createdAt",
  o.saga_deadline AS deadline, o.saga_ended_at AS "endedAt"`;

/** The saga queries' reads of `orders` and `saga_replies` (and, embedded, the outbox's events of one order). */
@injectable()
export class SagaReads {
  constructor(@inject(TOKENS.Database) private readonly database: Database) {}

  /**
   * A page of sagas in one state, oldest first (the longest waiting first) unless asked otherwise. Pending sagas
   * are read on the partial index orders_pending_saga_deadline_idx; ended ones by creation time, like GET /orders.
   */
  async page(filter: SagaFilter, params: ListParams): Promise<{ rows: SagaRow[]; total: number }> {
    const where = sql`WHERE o.saga_status = ${filter.status} AND o.created_at <= ${filter.createdBy}::timestamptz`;
    const direction = params.order === 'desc' ? sql`DESC` : sql`ASC`;
    const [rows, [count]] = await Promise.all([
      this.database.read(sql<SagaRow>`
        SELECT ${SAGA_COLUMNS} FROM orders o ${where}
        ORDER BY o.created_at ${direction}, o.serial_number ${direction}
        LIMIT ${params.limit} OFFSET ${params.offset}`),
      this.database.read(sql<{ total: number }>`SELECT count(*)::int AS total FROM orders o ${where}`),
    ]);
    return { rows, total: count?.total ?? 0 };
  }

  /** The order's saga, its outbox events and its recorded replies; undefined for an id that is no order. */
  async history(orderId: string): Promise<StoredHistory | undefined> {
    const [row] = await this.database.read(sql<StoredHistory>`
      SELECT ${SAGA_COLUMNS}, o.deleted_at AS "deletedAt", o.last_event_sequence AS "eventsRecorded",
             ${eventsOfAggregate(sql`o.id`)} AS events,
             (SELECT coalesce(json_agg(json_build_object(
                       'receivedAt', to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       'messageId', r.message_id, 'decision', r.decision, 'outcome', r.outcome, 'reason', r.reason,
                       'duplicates', r.duplicates) ORDER BY r.id), '[]'::json)
                FROM saga_replies r WHERE r.order_id = o.id) AS replies
      FROM orders o WHERE o.id = ${orderId}::uuid`);
    return row;
  }

  /**
   * The stuck-saga gauges' numbers, in one statement on the pending partial index: the oldest pending saga's
   * creation, and the count of pending sagas created at or before each cut-off (cumulative, oldest cut-off last).
   */
  async pendingStats(cutOffs: Date[]): Promise<PendingStats> {
    const counts = cutOffs.map((cutOff) => sql`count(*) FILTER (WHERE created_at <= ${cutOff}::timestamptz)::int`);
    const [row] = await this.database.read(sql<{ oldest: Date | null; counts: number[] }>`
      SELECT min(created_at) AS oldest, ARRAY[${sql.join(counts, sql`, `)}] AS counts
      FROM orders WHERE saga_status = ${SagaStatus.Pending}`);
    return { oldestCreatedAt: row?.oldest ?? null, createdBy: row?.counts ?? cutOffs.map(() => 0) };
  }
}
