import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import { defineQuery, type Handler, type MessageContext, type PayloadOf } from '../kernel/message.js';
import { NotFoundError } from '../kernel/errors.js';
import { mayActForUser } from '../kernel/actor.js';
import { listPage, listParams, uuid, type ListPage } from '../kernel/schemas.js';
import { toOrderJson, type OrderJson } from './order-json.js';
import type { OrderReads } from './persistence/order-reads.js';

export const GetOrder = defineQuery('GetOrder', z.object({ orderID: uuid })).returning<OrderJson>();
export const ListOrders = defineQuery('ListOrders', listParams).returning<ListPage<'orders', OrderJson>>();

/** Any order a client can still see: not deleted, pending or approved, and theirs (or any, for orders:admin). */
@injectable()
export class GetOrderHandler implements Handler<typeof GetOrder> {
  constructor(@inject(TOKENS.OrderReads) private readonly reads: OrderReads) {}

  async handle({ orderID }: PayloadOf<typeof GetOrder>, { actor }: MessageContext): Promise<OrderJson> {
    const view = await this.reads.findVisible(orderID);
    // Another user's order is "not found": whether an id exists is not theirs to learn.
    if (!view || !mayActForUser(actor, view.clientId)) throw new NotFoundError('order not found', orderID);
    return toOrderJson(view);
  }
}

/** Approved, not deleted orders by creation time, read from PostgreSQL. */
@injectable()
export class ListOrdersHandler implements Handler<typeof ListOrders> {
  constructor(@inject(TOKENS.OrderReads) private readonly reads: OrderReads) {}

  async handle(params: PayloadOf<typeof ListOrders>): Promise<ListPage<'orders', OrderJson>> {
    const { views, total } = await this.reads.approvedPage(params);
    return listPage('orders', views.map(toOrderJson), total, params);
  }
}
