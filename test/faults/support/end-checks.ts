import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { decide, type SimRule } from '../../../src/tools/customer-sim-rules.js';
import type { EventCapture } from './event-capture.js';
import type { FaultEnvironment } from './environment.js';
import { expectedUserLists, type OrderJson } from './expected-orders.js';
import type { OrderLoad } from './load.js';
import { request } from './http-client.js';
import { checkProjection } from './projection-checks.js';
import { projectionKeys } from '../../../src/orders/projection/projection-keys.js';

/** What the end of a step found; a step fails on any `lost`, `duplicated` or `problems`. */
export interface EndResult {
  published: number;
  deliveries: number;
  projected: number;
  /** Orders with something missing: not stored though acknowledged, an event never published, absent from the projection. */
  lost: Set<string>;
  /** Orders with something applied twice: an extra event row or outcome, listed twice in the projection. */
  duplicated: Set<string>;
  outcomes: Record<'Approved' | 'Rejected' | 'TimedOut' | 'Pending', number>;
  problems: string[];
}

export interface EndCheckOptions {
  env: FaultEnvironment;
  capture: EventCapture;
  load: OrderLoad;
  rule: SimRule;
  /** A port of a live http process. */
  port: () => number;
  /** Read every user's list through the API before looking into Redis: after Redis lost everything, it is the reads that rebuild. */
  readFirst: boolean;
}

/**
 * Waits until the step has settled (no saga pending, no ready outbox row, every published row captured, the
 * projection as long as the database says), or the deadline passes; the checks then say what is missing.
 */
export async function settle(env: FaultEnvironment, capture: EventCapture, deadlineMs: number, touch?: () => Promise<void>): Promise<string> {
  const end = Date.now() + deadlineMs;
  let state = '';
  for (;;) {
    const { rows: [o] } = await env.pool.query<{ pending: number; approved: number }>(
      `SELECT count(*) FILTER (WHERE saga_status = 'Pending')::int AS pending,
              count(*) FILTER (WHERE saga_status = 'Approved' AND deleted_at IS NULL)::int AS approved FROM orders`);
    const { rows: [b] } = await env.pool.query<{ ready: number; published: number }>(
      `SELECT count(*) FILTER (WHERE status = 'Ready')::int AS ready, count(*) FILTER (WHERE status = 'Published')::int AS published FROM outbox`);
    const { rows: users } = await env.pool.query<{ id: string }>('SELECT id FROM users');
    if (touch) await touch();
    let projected = 0;
    for (const { id } of users) projected += await env.redis.zcard(projectionKeys.userIndex(id)).catch(() => 0);
    state = `pending ${o!.pending}, outbox ready ${b!.ready}, captured ${capture.distinctEvents}/${b!.published}, projected ${projected}/${o!.approved}`;
    if (o!.pending === 0 && b!.ready === 0 && capture.distinctEvents >= b!.published && projected === o!.approved) return `settled: ${state}`;
    if (Date.now() > end) return `NOT settled after ${deadlineMs} ms: ${state}`;
    await sleep(1_000);
  }
}

interface OrderRow {
  id: string;
  user_id: string;
  saga_status: 'Approved' | 'Rejected' | 'TimedOut' | 'Pending';
  lines: number;
}
interface OutboxRow {
  aggregate_id: string;
  sequence: number;
  event_id: string;
  event_type: string;
  status: string;
  reason: string | null;
}

export async function checkEnd(options: EndCheckOptions): Promise<EndResult> {
  const { env, capture, load, rule } = options;
  const result: EndResult = {
    published: capture.distinctEvents,
    deliveries: capture.deliveries,
    projected: 0,
    lost: new Set(),
    duplicated: new Set(),
    outcomes: { Approved: 0, Rejected: 0, TimedOut: 0, Pending: 0 },
    problems: [],
  };
  const problem = (text: string) => result.problems.length < 200 && result.problems.push(text);
  const { rows: orders } = await env.pool.query<OrderRow>(
    `SELECT o.id, o.user_id, o.saga_status, (SELECT count(*)::int FROM order_lines l WHERE l.order_id = o.id) AS lines FROM orders o`);
  const { rows: outbox } = await env.pool.query<OutboxRow>(
    `SELECT aggregate_id, sequence, event_id, event_type, status, payload->>'reason' AS reason FROM outbox ORDER BY aggregate_id, sequence`);
  const rowsByOrder = groupBy(outbox, (row) => row.aggregate_id);
  const stored = new Map(orders.map((order) => [order.id, order]));

  for (const posted of load.orders) {
    if (posted.acknowledged && !stored.has(posted.id)) {
      result.lost.add(posted.id);
      problem(`order ${posted.id} was acknowledged (204) but is not in PostgreSQL`);
    }
  }
  for (const order of orders) {
    result.outcomes[order.saga_status]++;
    checkOrder(order, rowsByOrder.get(order.id) ?? [], capture, rule, result, problem);
  }
  for (const row of outbox) {
    if (row.status === 'Published' && !capture.has(row.event_id)) {
      result.lost.add(row.aggregate_id);
      problem(`${row.event_type} ${row.event_id} of ${row.aggregate_id} is marked Published but never reached the capture queue`);
    }
    if (row.status === 'Ready' || row.status === 'Parked') problem(`outbox row ${row.event_type} of ${row.aggregate_id} is still ${row.status}`);
  }

  // Nothing in this workload is poison: a reply or an event in a dead-letter queue is one that was not applied
  // (and a saga reply lost that way would only show as a timed-out order, which is otherwise a valid outcome).
  for (const queue of ['CustomerSaga.dead', 'Orders.dead']) {
    const depth = await capture.queueDepth(queue);
    if (depth !== 0) problem(`${queue} holds ${depth} messages`);
  }

  const expected = await expectedUserLists(env.pool);
  if (options.readFirst) await checkReads(options, expected, result, problem);
  result.projected = await checkProjection(env.redis, expected, result, problem);
  if (!options.readFirst) await checkReads(options, expected, result, problem);
  return result;
}

/** One order against its outbox rows and the events the capture queue saw. */
function checkOrder(order: OrderRow, rows: OutboxRow[], capture: EventCapture, rule: SimRule, result: EndResult, problem: (text: string) => void): void {
  const id = order.id;
  const decision = decide(rule, { orderId: id });
  const seen = capture.events(id);
  const types = rows.map((row) => row.event_type);
  const expectedTypes = ['OrderCreateSaga', ...Array<string>(order.lines).fill('OrderAddProduct'), 'OrderCreated'];
  if (order.saga_status !== 'Pending') expectedTypes.push(...(order.saga_status === 'Approved' ? [] : ['OrderCanceled']));
  // Rows: exactly the order's events, once each: a second outcome or a second copy would be a doubly applied effect.
  if (!isDeepStrictEqual(types, expectedTypes)) {
    result.duplicated.add(id);
    problem(`order ${id} (${order.saga_status}) has outbox rows ${types.join(',')}; expected ${expectedTypes.join(',')}`);
  }
  // Distinct event ids per sequence among deliveries: more than one means the same event was recorded twice.
  const idsBySequence = new Map<number, Set<string>>();
  for (const event of seen) {
    const ids = idsBySequence.get(event.sequence ?? -1) ?? new Set();
    ids.add(event.eventId);
    idsBySequence.set(event.sequence ?? -1, ids);
  }
  if ([...idsBySequence.values()].some((ids) => ids.size > 1)) {
    result.duplicated.add(id);
    problem(`order ${id}: two different events were published under one sequence`);
  }
  // First deliveries in sequence order (a repeat of an earlier event may come later; at-least-once allows it).
  const firsts = new Map<string, number>();
  for (const event of seen) if (!firsts.has(event.eventId)) firsts.set(event.eventId, event.sequence ?? -1);
  const inArrival = [...firsts.values()];
  if (inArrival.some((sequence, i) => i > 0 && sequence <= inArrival[i - 1]!)) problem(`order ${id}: events first arrived in sequence ${inArrival.join(',')}`);

  const published = (type: string) => rows.filter((row) => row.event_type === type && capture.has(row.event_id)).length;
  const seenTypes = new Set(seen.map((event) => event.eventType));
  switch (order.saga_status) {
    case 'Approved':
      if (decision !== 'Approved') problem(`order ${id} is Approved but the simulator answered ${decision}`);
      if (published('OrderCreateSaga') !== 1 || published('OrderAddProduct') !== order.lines || published('OrderCreated') !== 1) {
        result.lost.add(id);
        problem(`approved order ${id}: not every event was published (${rows.map((row) => `${row.event_type}:${row.status}`).join(',')})`);
      }
      if (seenTypes.has('OrderCanceled')) problem(`approved order ${id} was also canceled`);
      break;
    case 'Rejected':
    case 'TimedOut': {
      if (order.saga_status === 'Rejected' && decision !== 'Rejected') problem(`order ${id} is Rejected but the simulator answered ${decision}`);
      const canceled = seen.filter((event) => event.eventType === 'OrderCanceled');
      if (canceled.length === 0) {
        result.lost.add(id);
        problem(`${order.saga_status} order ${id}: OrderCanceled never published`);
      } else if (canceled.some((event) => event.reason !== order.saga_status)) {
        problem(`${order.saga_status} order ${id}: OrderCanceled with reason ${canceled[0]!.reason}`);
      }
      if (seenTypes.has('OrderAddProduct') || seenTypes.has('OrderCreated')) problem(`${order.saga_status} order ${id}: a held event was published`);
      break;
    }
    case 'Pending':
      problem(`order ${id} is still Pending after the saga timeout`);
  }
}

/** Every user's list through GET /orders/user/:userID must be exactly the database's, each order once. */
async function checkReads(options: EndCheckOptions, expected: Map<string, OrderJson[]>, result: EndResult, problem: (text: string) => void): Promise<void> {
  for (const [userId, orders] of expected) {
    const answer = await request(options.port(), 'GET', `/api/v1/orders/user/${userId}?limit=1000`);
    if (!answer.ok || answer.status !== 200) {
      problem(`GET /orders/user/${userId}: ${answer.ok ? `${answer.status} ${answer.text.slice(0, 200)}` : answer.error}`);
      continue;
    }
    const body = JSON.parse(answer.text) as { orders: OrderJson[]; total: number };
    const ids = body.orders.map((order) => order.OrderID);
    for (const twice of ids.filter((id, i) => ids.indexOf(id) !== i)) {
      result.duplicated.add(twice);
      problem(`GET /orders/user/${userId} lists ${twice} twice`);
    }
    const listed = new Set(ids);
    for (const order of orders) {
      if (!listed.has(order.OrderID)) {
        result.lost.add(order.OrderID);
        problem(`GET /orders/user/${userId} misses approved order ${order.OrderID}`);
      }
    }
    if (!isDeepStrictEqual(body.orders, orders) || body.total !== orders.length) {
      const at = body.orders.findIndex((order, i) => !isDeepStrictEqual(order, orders[i]));
      problem(`GET /orders/user/${userId} differs from PostgreSQL (total ${body.total}, expected ${orders.length}; first difference at ${at}: ${JSON.stringify(body.orders[at])} vs ${JSON.stringify(orders[at])})`);
    }
  }
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
