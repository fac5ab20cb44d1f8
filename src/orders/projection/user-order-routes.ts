import { z } from 'zod';
import type { Mediator } from '../../kernel/mediator.js';
import { SCOPES } from '../../kernel/actor.js';
import { listPageSchema, listParams } from '../../kernel/schemas.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { orderJson } from '../order-json.js';
import { GetUserOrders } from './user-orders-query.js';

/** The per-user order list, served from the Redis projection. Registered before /orders/:orderID. */
export function userOrderRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/orders/user/:userID',
      tag: 'orders',
      summary: "List a user's approved orders by creation time (Redis projection; PostgreSQL while Redis is down). Another user's list is 403 unless orders:admin",
      requires: [SCOPES.ordersRead, SCOPES.ordersAdmin],
      request: { params: z.object({ userID: z.string() }), query: listParams },
      success: { status: 200, description: "a page of the user's orders", schema: listPageSchema('orders', orderJson) },
      errors: [400],
      handle: ({ params, query, correlationId, actor }) => mediator.receive(GetUserOrders, { ...query, userID: params.userID }, correlationId, { actor }),
    },
  ];
}
