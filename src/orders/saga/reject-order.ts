import { z } from 'zod';
import { defineCommand } from '../../kernel/message.js';
import type { Handler } from '../../kernel/mediator.js';
import { NotFoundError } from '../../kernel/errors.js';
import { uuid } from '../../kernel/schemas.js';
import type { SagaReplyOutcome } from '../domain/order.js';
import type { PrismaOrderRepository } from '../persistence/prisma-order-repository.js';

export const RejectOrder = defineCommand<z.ZodObject<{ orderID: typeof uuid }>, SagaReplyOutcome>('RejectOrder', z.object({ orderID: uuid }));

/** The customer service rejected: compensate (discard held events, publish OrderCanceled). Idempotent. */
export function rejectOrderHandler(orders: PrismaOrderRepository, clock: () => Date): Handler<typeof RejectOrder> {
  return async ({ orderID }) => {
    const order = await orders.getForUpdate(orderID);
    if (!order) throw new NotFoundError('order not found', orderID);
    const outcome = order.reject(clock());
    if (outcome === 'applied') await orders.save(order);
    return outcome;
  };
}
