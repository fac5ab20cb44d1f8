import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import { defineCommand, type Handler } from '../../kernel/message.js';
import type { Clock } from '../../kernel/clock.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Order, SagaReplyOutcome } from '../domain/order.js';
import type { OrderRepository } from '../persistence/order-repository.js';
import type { SagaReplyLog } from '../persistence/saga-reply-log.js';
import { sagaReplySchema, SagaTransitionHandler, type SagaReplyResult } from './saga-transition.js';

export const RejectOrder = defineCommand('RejectOrder', sagaReplySchema).returning<SagaReplyResult>();

/**
 * The customer service rejected: compensate. The order becomes invisible (404, absent from lists, id still
 * reserved), its held rows are discarded, and OrderCanceled {reason: Rejected} is written. Idempotent.
 */
@injectable()
export class RejectOrderHandler extends SagaTransitionHandler implements Handler<typeof RejectOrder> {
  constructor(
    @inject(TOKENS.OrderRepository) orders: OrderRepository,
    @inject(TOKENS.SagaReplyLog) replies: SagaReplyLog,
    @inject(TOKENS.Clock) clock: Clock,
    @inject(TOKENS.Metrics) metrics: Metrics,
    @inject(TOKENS.Logger) logger: Logger,
  ) {
    super(orders, replies, clock, metrics, logger);
  }

  protected readonly decision = 'Rejected' as const;

  protected transition(order: Order, now: Date): SagaReplyOutcome {
    return order.reject(now);
  }
}
