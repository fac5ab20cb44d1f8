import { z } from 'zod';
import type { Mediator } from '../../kernel/mediator.js';
import { SCOPES } from '../../kernel/actor.js';
import { listPageSchema } from '../../kernel/schemas.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { GetOrderHistory, ListSagas, sagaListParams } from '../saga/saga-queries.js';
import { historyJson, sagaJson } from '../saga/saga-json.js';

/** The operators' view of sagas: which are waiting and since when, and one order's whole history. Admin only. */
export function sagaRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/sagas',
      tag: 'sagas',
      summary: 'List sagas in one state (default Pending) created at least olderThan ago, oldest first, with their age and deadline',
      requires: [SCOPES.ordersAdmin],
      request: { query: sagaListParams },
      success: { status: 200, description: 'a page of sagas', schema: listPageSchema('sagas', sagaJson) },
      errors: [400],
      handle: ({ query, correlationId, actor }) => mediator.receive(ListSagas, query, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/orders/:orderID/history',
      tag: 'sagas',
      summary: "An order's timeline: its saga, each event with its state in the outbox, each saga reply received and what became of it, the timeout if it fired",
      requires: [SCOPES.ordersAdmin],
      request: { params: z.object({ orderID: z.string() }) },
      success: { status: 200, description: "the order's history", schema: historyJson },
      errors: [400, 404],
      handle: ({ params, correlationId, actor }) => mediator.receive(GetOrderHistory, params, correlationId, { actor }),
    },
  ];
}
