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

export const ApproveOrder = defineCommand('ApproveOrder', sagaReplySchema).returning<SagaReplyResult>();

/**
 * The customer service approved: the order's held rows become ready in their recorded order. Rows already
 * published or ready (the saga request) are left as they are, so nothing goes out twice. A reply for an
 * ended saga changes nothing.
 */
@injectable()
export class ApproveOrderHandler extends SagaTransitionHandler implements Handler<typeof ApproveOrder> {
  constructor(
    @inject(TOKENS.OrderRepository) orders: OrderRepository,
    @inject(TOKENS.SagaReplyLog) replies: SagaReplyLog,
    @inject(TOKENS.Clock) clock: Clock,
    @inject(TOKENS.Metrics) metrics: Metrics,
    @inject(TOKENS.Logger) logger: Logger,
  ) {
    super(orders, replies, clock, metrics, logger);
  }

  protected readonly decision = 'Approved' as const;

  protected transition(order: Order, now: Date): SagaReplyOutcome {
    return order.approve(now);
  }
}
