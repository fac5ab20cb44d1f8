import { z } from 'zod';
import { defineCommand } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { NotFoundError } from '../kernel/errors.js';
import { mayActForUser } from '../kernel/actor.js';
import { uuid } from '../kernel/schemas.js';
import type { PrismaOrderRepository } from './persistence/prisma-order-repository.js';

export const DeleteOrder = defineCommand('DeleteOrder', z.object({ orderID: uuid }));

export function deleteOrderHandler(orders: PrismaOrderRepository, clock: () => Date): Handler<typeof DeleteOrder> {
  return async ({ orderID }, { actor }) => {
    const order = await orders.getForUpdate(orderID);
    // Another user's order is "not found": whether an id exists is not theirs to learn.
    if (!order || !mayActForUser(actor, order.snapshot.client.id)) throw new NotFoundError('order not found', orderID);
    order.delete(clock());
    await orders.save(order);
  };
}
