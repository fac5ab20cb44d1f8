import { z } from 'zod';
import type { Mediator } from '../../kernel/mediator.js';
import { listPageSchema, listParams } from '../../kernel/schemas.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { CreateOrder } from '../create-order.js';
import { DeleteOrder } from '../delete-order.js';
import { GetOrder, ListOrders } from '../order-queries.js';
import { orderJson } from '../order-json.js';

const orderPage = listPageSchema('orders', orderJson);

/** The order routes served from PostgreSQL; the per-user list (Redis) is added by the projection module. */
export function orderRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/orders',
      tag: 'orders',
      summary: 'Create an order (idempotent by orderID); starts the customer saga',
      request: { body: CreateOrder.schema },
      success: { status: 204, description: 'created, or the same order was already created' },
      errors: [400, 404, 409],
      handle: ({ body, correlationId }) => mediator.send(CreateOrder, body, correlationId),
    },
    {
      method: 'delete',
      path: '/orders',
      tag: 'orders',
      summary: 'Delete an approved order named in the body',
      request: { body: DeleteOrder.schema },
      success: { status: 204, description: 'deleted' },
      errors: [400, 404, 409],
      handle: ({ body, correlationId }) => mediator.send(DeleteOrder, body, correlationId),
    },
    {
      method: 'delete',
      path: '/orders/:orderID',
      tag: 'orders',
      summary: 'Delete an approved order',
      request: { params: z.object({ orderID: z.string() }) },
      success: { status: 204, description: 'deleted' },
      errors: [400, 404, 409],
      handle: ({ params, correlationId }) => mediator.send(DeleteOrder, params, correlationId),
    },
    {
      method: 'get',
      path: '/orders',
      tag: 'orders',
      summary: 'List approved orders by creation time',
      request: { query: listParams },
      success: { status: 200, description: 'a page of orders', schema: orderPage },
      errors: [400],
      handle: ({ query, correlationId }) => mediator.ask(ListOrders, query, correlationId),
    },
    {
      method: 'get',
      path: '/orders/:orderID',
      tag: 'orders',
      summary: 'Get an order that is pending or approved',
      request: { params: z.object({ orderID: z.string() }) },
      success: { status: 200, description: 'the order', schema: orderJson },
      errors: [400, 404],
      handle: ({ params, correlationId }) => mediator.ask(GetOrder, params, correlationId),
    },
  ];
}
