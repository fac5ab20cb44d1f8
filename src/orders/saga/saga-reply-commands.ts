import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../../tokens.js';
import { defineCommand, type CommandContext, type Handler } from '../../kernel/message.js';
import type { Clock } from '../../kernel/clock.js';
import { NotFoundError } from '../../kernel/errors.js';
import { uuid } from '../../kernel/schemas.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { Logger } from '../../platform/observability/logger.js';
import { inboxRecordOf, type InboxRecord } from '../../inbox/inbox-repository.js';
import { recordMessage } from '../../inbox/inbox-statements.js';
import type { UnitOfWork } from '../../platform/database/unit-of-work.js';
import type { Order, SagaReplyOutcome } from '../domain/order.js';
import { SagaStatus } from '../domain/order-status.js';
import type { OrderRepository } from '../persistence/order-repository.js';
import type { ReplyRecord, SagaReplyLog } from '../persistence/saga-reply-log.js';
import { countSagaOutcomeAfterCommit } from './saga-outcome-metrics.js';

/** The inbox's name for the saga-reply consumer; inbox rows are keyed by (consumer, message id). */
export const SAGA_REPLY_INBOX = 'saga-reply';

/** A saga reply as a command: the order, and the inbox key of the message that carried it when it had an id. */
const sagaReplySchema = z.object({
  orderID: uuid,
  /** See src/inbox/inbox-key.ts; absent for replies typed by hand without a message id. */
  inbox: z.object({ messageId: z.string().min(1).max(255), payloadDigest: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
});
type SagaReplyPayload = z.output<typeof sagaReplySchema>;

/** 'duplicate': this very message was applied before (inbox); nothing was looked at or changed. */
export type SagaReplyResult = SagaReplyOutcome | 'duplicate';

/**
 * The customer service approved: the order's held rows become ready in their recorded order. Rows already
 * published or ready (the saga request) are left as they are, so nothing goes out twice.
 */
export const ApproveOrder = defineCommand('ApproveOrder', sagaReplySchema).returning<SagaReplyResult>();

/**
 * The customer service rejected: compensate. The order becomes invisible (404, absent from lists, id still
 * reserved), its held rows are discarded, and OrderCanceled {reason: Rejected} is written.
 */
export const RejectOrder = defineCommand('RejectOrder', sagaReplySchema).returning<SagaReplyResult>();

interface Transition {
  decision: 'Approved' | 'Rejected';
  apply(order: Order, now: Date): SagaReplyOutcome;
}

const TRANSITIONS = new Map<unknown, Transition>([
  [ApproveOrder, { decision: 'Approved', apply: (order, now) => order.approve(now) }],
  [RejectOrder, { decision: 'Rejected', apply: (order, now) => order.reject(now) }],
]);

/** Why a reply changed nothing: the state its saga had already ended in. */
const ENDED_REASON: Record<Exclude<SagaStatus, 'Pending'>, string> = {
  Approved: 'already_approved',
  Rejected: 'already_rejected',
  TimedOut: 'already_timed_out',
};

/**
 * The handler of both replies: record the message in the inbox and lock the order (one statement), let the
 * aggregate decide, save (one statement, sent with the unit's COMMIT: two round trips for the whole reply).
 * The inbox row and the order's changes commit together. The row lock taken by getForUpdate is what makes two
 * different replies racing for one order produce exactly one outcome: the second waits, then finds the saga ended
 * and is 'ignored'. A reply for an ended saga changes nothing.
 *
 * A reply without a message id skips the inbox, and that is safe: the reply is a one-shot transition, so the
 * order row is its own idempotency record. Only Pending moves; every later reply for the order (the same one
 * redelivered, a copy published twice by hand, a late or contradicting one) finds a final state and is 'ignored'.
 * A key made up for such a message would either differ between redeliveries (delivery tag) or only restate that
 * rule (a hash of orderID and orderType).
 *
 * What became of the reply is recorded for the order's history in the same unit of work: in the statement that
 * saves the order when it applied, in one of its own when it was ignored; a redelivered copy only counts.
 */
@injectable()
export class SagaReplyHandler implements Handler<typeof ApproveOrder>, Handler<typeof RejectOrder> {
  constructor(
    @inject(TOKENS.OrderRepository) private readonly orders: OrderRepository,
    @inject(TOKENS.SagaReplyLog) private readonly replies: SagaReplyLog,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async handle({ orderID, inbox }: SagaReplyPayload, { type, unit, correlationId }: CommandContext): Promise<SagaReplyResult> {
    const { order, inboxRecord } = await this.recordAndLock(unit, orderID, inbox);
    if (inbox !== undefined && inboxRecord !== undefined) {
      if (!inboxRecord.recorded) {
        await this.replies.countDuplicate(unit, orderID, inbox.messageId);
        return 'duplicate';
      }
      if (inboxRecord.idReused) this.logger.warn('a saga reply reuses the message id of another reply; handled as a message of its own', { messageId: inbox.messageId.slice(0, 100), orderID });
    }
    // Thrown, so the unit (and the inbox row) rolls back: the message is dead-lettered, not remembered.
    if (!order) throw new NotFoundError('order not found', orderID);
    const endedIn = order.snapshot.sagaStatus;
    const transition = TRANSITIONS.get(type)!;
    const outcome = transition.apply(order, this.clock());
    const record: ReplyRecord = { orderId: orderID, messageId: inbox?.messageId ?? null, decision: transition.decision, outcome, reason: null, correlationId };
    if (outcome === 'applied') {
      await this.orders.save(unit, order, { alsoWrite: this.replies.insert(record), andCommit: true });
      countSagaOutcomeAfterCommit(unit, this.metrics, order);
    } else {
      await this.replies.recordIgnored(unit, { ...record, reason: endedIn === SagaStatus.Pending ? null : ENDED_REASON[endedIn] });
    }
    return outcome;
  }

  /**
   * The inbox row (when the message has an id) and the order's lock in one statement: one round trip fewer per
   * reply than recording, then locking. A redelivery then locks the order too before it is found a duplicate.
   */
  private async recordAndLock(unit: UnitOfWork, orderID: string, inbox: SagaReplyPayload['inbox']): Promise<{ order: Order | undefined; inboxRecord?: InboxRecord }> {
    if (inbox === undefined) return { order: await this.orders.getForUpdate(unit, orderID) };
    const { order, written } = await this.orders.getForUpdateWith(unit, orderID, recordMessage(SAGA_REPLY_INBOX, inbox));
    return { order, inboxRecord: inboxRecordOf(written) };
  }
}
