import type { Mediator } from '../../kernel/mediator.js';
import { SCOPES } from '../../kernel/actor.js';
import { listParams } from '../../kernel/schemas.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { orderPage } from '../order-json.js';
import { GetUserOrders } from './user-orders-query.js';

/** The per-user order list, served from the Redis projection. Registered before /orders/:orderID. */
export function userOrderRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/orders/user/:userID',
      operationId: 'listUserOrders',
      tag: 'orders',
      summary: "List a user's approved orders by creation time",
      description:
        "Served from the Redis projection (from PostgreSQL while Redis is down), so an approved order appears once the projector applied its events. Another user's list is 403 unless orders:admin.",
      requires: [SCOPES.ordersRead, SCOPES.ordersAdmin],
      request: { params: GetUserOrders.schema.pick({ userID: true }), query: listParams },
      success: { status: 200, description: "a page of the user's orders", schema: orderPage },
      errors: [],
      handle: ({ params, query, correlationId, actor }) => mediator.receive(GetUserOrders, { ...query, userID: params.userID }, correlationId, { actor }),
    },
  ];
}
