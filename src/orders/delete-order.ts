import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import type { Clock } from '../kernel/clock.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../kernel/message.js';
import { NotFoundError } from '../kernel/errors.js';
import { mayActForUser } from '../kernel/actor.js';
import { uuid } from '../kernel/schemas.js';
import type { OrderRepository } from './persistence/order-repository.js';

export const DeleteOrder = defineCommand('DeleteOrder', z.object({ orderID: uuid }));

/** Deletes an approved order (Order.delete says when it may); OrderDeleted goes out through the outbox. */
@injectable()
export class DeleteOrderHandler implements Handler<typeof DeleteOrder> {
  constructor(
    @inject(TOKENS.OrderRepository) private readonly orders: OrderRepository,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  async handle({ orderID }: PayloadOf<typeof DeleteOrder>, { actor, unit }: CommandContext): Promise<void> {
    const order = await this.orders.getForUpdate(unit, orderID);
    // Another user's order is "not found": whether an id exists is not theirs to learn.
    if (!order || !mayActForUser(actor, order.snapshot.client.id)) throw new NotFoundError('order not found', orderID);
    order.delete(this.clock());
    await this.orders.save(unit, order, { andCommit: true });
  }
}
