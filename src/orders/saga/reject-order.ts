import { defineCommand } from '../../kernel/message.js';
import type { Handler } from '../../kernel/mediator.js';
import { sagaReplySchema, sagaTransitionHandler, type SagaReplyDependencies, type SagaReplyResult } from './saga-transition.js';

export const RejectOrder = defineCommand<typeof sagaReplySchema, SagaReplyResult>('RejectOrder', sagaReplySchema);

/**
 * The customer service rejected: compensate. The order becomes invisible (404, absent from lists, id still
 * reserved), its held rows are discarded, and OrderCanceled {reason: Rejected} is written. Idempotent.
 */
export function rejectOrderHandler(deps: SagaReplyDependencies): Handler<typeof RejectOrder> {
  return sagaTransitionHandler(deps, (order, now) => order.reject(now));
}
