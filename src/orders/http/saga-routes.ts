import type { Mediator } from '../../kernel/mediator.js';
import { SCOPES } from '../../kernel/actor.js';
import { listPageSchema } from '../../kernel/schemas.js';
import type { RouteSpec } from '../../platform/http/route-spec.js';
import { GetOrderHistory, ListSagas, sagaListParams } from '../saga/saga-queries.js';
import { historyJson, sagaJson } from '../saga/saga-json.js';

/** A page of sagas: GET /sagas. */
const sagaPage = listPageSchema('SagaPage', 'sagas', sagaJson);

/** The operators' view of sagas: which are waiting and since when, and one order's whole history. Admin only. */
export function sagaRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/sagas',
      operationId: 'listSagas',
      tag: 'sagas',
      summary: 'List sagas in one state, oldest first',
      description: 'Sagas in `status` (default Pending) created at least `olderThan` ago, oldest first, with their age and deadline.',
      requires: [SCOPES.ordersAdmin],
      request: { query: sagaListParams },
      success: { status: 200, description: 'a page of sagas', schema: sagaPage },
      errors: [],
      handle: ({ query, correlationId, actor }) => mediator.receive(ListSagas, query, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/orders/:orderID/history',
      operationId: 'getOrderHistory',
      tag: 'sagas',
      summary: "An order's timeline",
      description:
        'Its saga, each event with its state in the outbox, each saga reply received and what became of it, and the timeout if it fired.',
      requires: [SCOPES.ordersAdmin],
      request: { params: GetOrderHistory.schema },
      success: { status: 200, description: "the order's history", schema: historyJson },
      errors: [404],
      handle: ({ params, correlationId, actor }) => mediator.receive(GetOrderHistory, params, correlationId, { actor }),
    },
  ];
}
