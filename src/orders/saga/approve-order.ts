import { defineCommand } from '../../kernel/message.js';
import type { Handler } from '../../kernel/mediator.js';
import { sagaReplySchema, sagaTransitionHandler, type SagaReplyDependencies, type SagaReplyResult } from './saga-transition.js';

export const ApproveOrder = defineCommand<typeof sagaReplySchema, SagaReplyResult>('ApproveOrder', sagaReplySchema);

/**
 * The customer service approved: the order's held rows become ready in their recorded order. Rows already
 * published or ready (the saga request) are left as they are, so nothing goes out twice. A reply for an
 * ended saga changes nothing.
 */
export function approveOrderHandler(deps: SagaReplyDependencies): Handler<typeof ApproveOrder> {
  return sagaTransitionHandler(deps, (order, now) => order.approve(now));
}
