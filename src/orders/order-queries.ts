import { z } from 'zod';
import { defineQuery } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { NotFoundError } from '../kernel/errors.js';
import { mayActForUser } from '../kernel/actor.js';
import { listPage, listParams, uuid, type ListPage, type ListParams } from '../kernel/schemas.js';
import type { Database } from '../platform/database/prisma.js';
import { ORDER_READ_INCLUDE, toOrderJson, type OrderJson } from './order-json.js';

export const GetOrder = defineQuery<z.ZodObject<{ orderID: typeof uuid }>, OrderJson>('GetOrder', z.object({ orderID: uuid }));
export const ListOrders = defineQuery<typeof listParams, ListPage<'orders', OrderJson>>('ListOrders', listParams);

/** Any order a client can still see: not deleted, pending or approved, and theirs (or any, for orders:admin). */
export function getOrderHandler(database: Database): Handler<typeof GetOrder> {
  return async ({ orderID }, { actor }) => {
    const row = await database.order.findFirst({
      where: { id: orderID, deletedAt: null, sagaStatus: { in: ['Pending', 'Approved'] } },
      include: ORDER_READ_INCLUDE,
    });
    // Another user's order is "not found": whether an id exists is not theirs to learn.
    if (!row || !mayActForUser(actor, row.userId)) throw new NotFoundError('order not found', orderID);
    return toOrderJson(row);
  };
}

/** Approved, not deleted orders by creation time, read from PostgreSQL. */
export function listOrdersHandler(database: Database): Handler<typeof ListOrders> {
  return (params) => readApprovedOrdersPage(database, params);
}

/** A page of approved, not deleted orders (of one user, when given) by creation time, then serial number. */
export async function readApprovedOrdersPage(database: Database, params: ListParams, userId?: string): Promise<ListPage<'orders', OrderJson>> {
  const where = { sagaStatus: 'Approved', deletedAt: null, ...(userId === undefined ? {} : { userId }) };
  const [rows, total] = await Promise.all([
    database.order.findMany({
      where,
      include: ORDER_READ_INCLUDE,
      orderBy: [{ createdAt: params.order }, { serialNumber: params.order }],
      skip: params.offset,
      take: params.limit,
    }),
    database.order.count({ where }),
  ]);
  return listPage('orders', rows.map(toOrderJson), total, params);
}
