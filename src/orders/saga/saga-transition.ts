import { z } from 'zod';
import type { Handler } from '../../kernel/mediator.js';
import type { MessageType } from '../../kernel/message.js';
import { NotFoundError } from '../../kernel/errors.js';
import { uuid } from '../../kernel/schemas.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { recordInboxMessage } from '../../inbox/inbox-repository.js';
import type { Order, SagaReplyOutcome } from '../domain/order.js';
import type { PrismaOrderRepository } from '../persistence/prisma-order-repository.js';
import { countSagaOutcomeAfterCommit } from './saga-outcome-metrics.js';

/** The inbox's name for the saga-reply consumer; inbox rows are keyed by (consumer, message id). */
export const SAGA_REPLY_INBOX = 'saga-reply';

/** A saga reply as a command: the order, and the id of the message that carried it when it had one. */
export const sagaReplySchema = z.object({
  orderID: uuid,
  /** AMQP message-id (a shortstr, at most 255 bytes); absent for replies typed by hand without one. */
  messageId: z.string().min(1).max(255).optional(),
});
export type SagaReplyCommand = MessageType<typeof sagaReplySchema, SagaReplyResult>;

/** 'duplicate': this very message was applied before (inbox); nothing was looked at or changed. */
export type SagaReplyResult = SagaReplyOutcome | 'duplicate';

export interface SagaReplyDependencies {
  orders: PrismaOrderRepository;
  clock: () => Date;
  metrics: Metrics;
}

/**
 * The shape shared by ApproveOrder and RejectOrder: record the message in the inbox, lock the order, let the
 * aggregate decide, save. The inbox row and the order's changes commit together. The row lock taken by
 * getForUpdate is what makes two different replies racing for one order produce exactly one outcome: the
 * second waits, then finds the saga ended and is 'ignored'.
 *
 * A reply without a message id skips the inbox, and that is safe: the reply is a one-shot transition, so the
 * order row is its own idempotency record. Only Pending moves; every later reply for the order (the same
 * one redelivered, a copy published twice by hand, a late or contradicting one) finds a final state and is
 * 'ignored'. A key made up for such a message would either differ between redeliveries (delivery tag) or only
 * restate that rule (a hash of orderID and orderType).
 */
export function sagaTransitionHandler(
  deps: SagaReplyDependencies,
  transition: (order: Order, now: Date) => SagaReplyOutcome,
): Handler<SagaReplyCommand> {
  return async ({ orderID, messageId }) => {
    if (messageId !== undefined && !(await recordInboxMessage(SAGA_REPLY_INBOX, messageId))) return 'duplicate';
    const order = await deps.orders.getForUpdate(orderID);
    // Thrown, so the transaction (and the inbox row) rolls back: the message is dead-lettered, not remembered.
    if (!order) throw new NotFoundError('order not found', orderID);
    const outcome = transition(order, deps.clock());
    if (outcome === 'applied') {
      await deps.orders.save(order);
      countSagaOutcomeAfterCommit(deps.metrics, order);
    }
    return outcome;
  };
}
