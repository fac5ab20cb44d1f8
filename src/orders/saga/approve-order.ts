import { z } from 'zod';
import { defineCommand } from '../../kernel/message.js';
import type { Handler } from '../../kernel/mediator.js';
import { NotFoundError } from '../../kernel/errors.js';
import { uuid } from '../../kernel/schemas.js';
import type { SagaReplyOutcome } from '../domain/order.js';
import type { PrismaOrderRepository } from '../persistence/prisma-order-repository.js';

export const ApproveOrder = defineCommand<z.ZodObject<{ orderID: typeof uuid }>, SagaReplyOutcome>('ApproveOrder', z.object({ orderID: uuid }));

/** The customer service approved: release the order's held events. A reply for an ended saga changes nothing. */
export function approveOrderHandler(orders: PrismaOrderRepository, clock: () => Date): Handler<typeof ApproveOrder> {
  return async ({ orderID }) => {
    const order = await orders.getForUpdate(orderID);
    if (!order) throw new NotFoundError('order not found', orderID);
    const outcome = order.approve(clock());
    if (outcome === 'applied') await orders.save(order);
    return outcome;
  };
}
