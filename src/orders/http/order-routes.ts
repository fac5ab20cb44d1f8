import { z } from 'zod';
import type { Mediator } from '../../kernel/mediator.js';
import { SCOPES } from '../../kernel/actor.js';
import { listPageSchema, listParams } from '../../kernel/schemas.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { CreateOrder } from '../create-order.js';
import { DeleteOrder } from '../delete-order.js';
import { GetOrder, ListOrders } from '../order-queries.js';
import { orderJson } from '../order-json.js';

const orderPage = listPageSchema('orders', orderJson);
const WRITE = [SCOPES.ordersWrite, SCOPES.ordersAdmin];
const READ = [SCOPES.ordersRead, SCOPES.ordersAdmin];

/** The order routes served from PostgreSQL; the per-user list (Redis) is added by the projection module. */
export function orderRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/orders',
      tag: 'orders',
      summary: 'Create an order (idempotent by orderID); starts the customer saga. Only for the token\'s own user unless orders:admin',
      requires: WRITE,
      request: { body: CreateOrder.schema },
      success: { status: 204, description: 'created, or the same order was already created' },
      errors: [400, 404, 409],
      handle: ({ body, correlationId, actor }) => mediator.receive(CreateOrder, body, correlationId, { actor }),
    },
    {
      method: 'delete',
      path: '/orders',
      tag: 'orders',
      summary: "Delete an approved order named in the body (another user's order is not found unless orders:admin)",
      requires: WRITE,
      request: { body: DeleteOrder.schema },
      success: { status: 204, description: 'deleted' },
      errors: [400, 404, 409],
      handle: ({ body, correlationId, actor }) => mediator.receive(DeleteOrder, body, correlationId, { actor }),
    },
    {
      method: 'delete',
      path: '/orders/:orderID',
      tag: 'orders',
      summary: "Delete an approved order (another user's order is not found unless orders:admin)",
      requires: WRITE,
      request: { params: z.object({ orderID: z.string() }) },
      success: { status: 204, description: 'deleted' },
      errors: [400, 404, 409],
      handle: ({ params, correlationId, actor }) => mediator.receive(DeleteOrder, params, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/orders',
      tag: 'orders',
      summary: "List every user's approved orders by creation time",
      requires: [SCOPES.ordersAdmin],
      request: { query: listParams },
      success: { status: 200, description: 'a page of orders', schema: orderPage },
      errors: [400],
      handle: ({ query, correlationId, actor }) => mediator.receive(ListOrders, query, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/orders/:orderID',
      tag: 'orders',
      summary: "Get an order that is pending or approved (another user's order is not found unless orders:admin)",
      requires: READ,
      request: { params: z.object({ orderID: z.string() }) },
      success: { status: 200, description: 'the order', schema: orderJson },
      errors: [400, 404],
      handle: ({ params, correlationId, actor }) => mediator.receive(GetOrder, params, correlationId, { actor }),
    },
  ];
}
