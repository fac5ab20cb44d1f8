import type { Mediator } from '../../kernel/mediator.js';
import { SCOPES } from '../../kernel/actor.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { CreateOrder } from '../create-order.js';
import { DeleteOrder } from '../delete-order.js';
import { GetOrder, ListOrders } from '../order-queries.js';
import { orderJson, orderPage } from '../order-json.js';

const WRITE = [SCOPES.ordersWrite, SCOPES.ordersAdmin];
const READ = [SCOPES.ordersRead, SCOPES.ordersAdmin];

/** The order routes served from PostgreSQL; the per-user list (Redis) is added by the projection module. */
export function orderRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/orders',
      operationId: 'createOrder',
      tag: 'orders',
      summary: 'Create an order and start its customer saga',
      description:
        "Idempotent by orderID: the same body again answers 204 and creates nothing; another body under the same orderID is a 409. Only for the token's own user (userID = sub) unless orders:admin (403 otherwise). 404 names the unknown user, address or product ids.",
      requires: WRITE,
      request: { body: CreateOrder.schema },
      success: { status: 204, description: 'created, or the same order was already created' },
      errors: [404, 409],
      handle: ({ body, correlationId, actor }) => mediator.receive(CreateOrder, body, correlationId, { actor }),
    },
    {
      method: 'delete',
      path: '/orders',
      operationId: 'deleteOrderNamedInBody',
      tag: 'orders',
      summary: 'Delete an approved order named in the body',
      description: "The same as DELETE /orders/{orderID}. Another user's order is not found (404) unless orders:admin; 409 while its saga is pending.",
      requires: WRITE,
      request: { body: DeleteOrder.schema },
      success: { status: 204, description: 'deleted' },
      errors: [404, 409],
      handle: ({ body, correlationId, actor }) => mediator.receive(DeleteOrder, body, correlationId, { actor }),
    },
    {
      method: 'delete',
      path: '/orders/:orderID',
      operationId: 'deleteOrder',
      tag: 'orders',
      summary: 'Delete an approved order',
      description: "Another user's order is not found (404) unless orders:admin; 409 while its saga is pending.",
      requires: WRITE,
      request: { params: DeleteOrder.schema },
      success: { status: 204, description: 'deleted' },
      errors: [404, 409],
      handle: ({ params, correlationId, actor }) => mediator.receive(DeleteOrder, params, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/orders',
      operationId: 'listOrders',
      tag: 'orders',
      summary: "List every user's approved orders by creation time",
      requires: [SCOPES.ordersAdmin],
      request: { query: ListOrders.schema },
      success: { status: 200, description: 'a page of orders', schema: orderPage },
      errors: [],
      handle: ({ query, correlationId, actor }) => mediator.receive(ListOrders, query, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/orders/:orderID',
      operationId: 'getOrder',
      tag: 'orders',
      summary: 'Get an order that is pending or approved',
      description: "Another user's order is not found (404) unless orders:admin, as an unknown id would be.",
      requires: READ,
      request: { params: GetOrder.schema },
      success: { status: 200, description: 'the order', schema: orderJson },
      errors: [404],
      handle: ({ params, correlationId, actor }) => mediator.receive(GetOrder, params, correlationId, { actor }),
    },
  ];
}
