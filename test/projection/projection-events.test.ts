import { describe, expect, it } from 'vitest';
import type { ConsumeMessage } from 'amqplib';
import { parseProjectionEvent, type ProjectionEvent } from '../../src/orders/projection/projection-events.js';
import { orderJsonText, type OrderView } from '../../src/orders/order-json.js';
import { PoisonMessageError } from '../../src/platform/messaging/rabbitmq-consumer.js';
import { isTransientRedisError } from '../../src/orders/projection/order-projector.js';
import { ReplyError } from 'ioredis';

function message(body: unknown, sequence?: unknown): ConsumeMessage {
  const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = sequence === undefined ? {} : { 'x-event-sequence': sequence };
  return { content, fields: {}, properties: { headers } } as unknown as ConsumeMessage;
}

const orderId = '3f2c6a7e-0b1d-4c6e-9a51-2f0e8d4b7c11';
const userId = '0a1b2c3d-0000-4000-8000-000000000001';
const envelope = { eventID: '6c1f2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b', eventTimeStamp: '2026-11-21T05:00:00.123Z', orderID: orderId };

const view: OrderView = {
  orderId,
  serialNumber: 42,
  paymentMethod: 'Cash',
  orderStatus: 'New',
  sagaStatus: 'Approved',
  totalPrice: 104.99,
  createdAt: '2026-11-21T05:00:00.123Z',
  clientId: userId,
  clientName: 'Иван "the" tester',
  fullAddress: 'Russia, Moscow, Pushkina, 44',
  lines: [
    { productId: '11111111-1111-4111-8111-111111111111', productName: 'Phone', actualPrice: 90 },
    { productId: '22222222-2222-4222-8222-222222222222', productName: 'Case \\ "quoted"', actualPrice: 14.99 },
  ],
};

/** The events the outbox holds for `view`, with their sequences (2..N+1 lines, N+2 created). */
function eventsOf(order: OrderView): { body: object; sequence: number }[] {
  let running = 0;
  const lines = order.lines.map((line, index) => {
    running += Math.round(line.actualPrice * 100);
    const body = { ...envelope, eventType: 'OrderAddProduct', clientID: order.clientId, productID: line.productId, productName: line.productName, productPrice: line.actualPrice, orderPrice: running / 100 };
    return { body, sequence: index + 2 };
  });
  const created = {
    ...envelope,
    eventType: 'OrderCreated',
    client: { clientID: order.clientId, username: order.clientName },
    orderStatus: order.orderStatus,
    paymentMethod: order.paymentMethod,
    deliveryAddress: { addressID: '99999999-9999-4999-8999-999999999999', fullAddress: order.fullAddress },
    serialNumber: order.serialNumber,
    totalPrice: order.totalPrice,
    createdAt: order.createdAt,
  };
  return [...lines, { body: created, sequence: order.lines.length + 2 }];
}

function reason(body: unknown, sequence?: unknown): string {
  try {
    parseProjectionEvent(message(body, sequence));
  } catch (error) {
    if (error instanceof PoisonMessageError) return error.reason;
    throw error;
  }
  return 'parsed';
}

describe('projection events', () => {
  it('when an order\'s lines and OrderCreated are assembled, then the JSON is byte for byte the database read\'s', () => {
    const parsed = eventsOf(view).map(({ body, sequence }) => parseProjectionEvent(message(body, sequence)));
    const lines = parsed.filter((e): e is Extract<ProjectionEvent, { kind: 'line' }> => e.kind === 'line').map((e) => e.line.lineJson);
    const created = parsed.find((e): e is Extract<ProjectionEvent, { kind: 'created' }> => e.kind === 'created')!.created;
    expect(created.head + lines.join(',') + created.tail).toBe(orderJsonText(view));
    expect(created).toMatchObject({ sequence: 4, userId, serialNumber: 42, createdAtMs: Date.parse(view.createdAt) });
  });

  it('when the sequence header is a number or a digit string, then it is taken; otherwise the event is poison', () => {
    const [line] = eventsOf(view);
    expect(parseProjectionEvent(message(line!.body, 2))).toMatchObject({ kind: 'line', line: { sequence: 2 } });
    expect(parseProjectionEvent(message(line!.body, '7'))).toMatchObject({ kind: 'line', line: { sequence: 7 } });
    expect(reason(line!.body)).toBe('missing_sequence');
    expect(reason(line!.body, 0)).toBe('missing_sequence');
    expect(reason(line!.body, 'two')).toBe('missing_sequence');
    // No order has more events than its products and three: a larger version would outrank all of them.
    expect(parseProjectionEvent(message(line!.body, 103))).toMatchObject({ kind: 'line', line: { sequence: 103 } });
    expect(reason(line!.body, 104)).toBe('missing_sequence');
    expect(reason(line!.body, 1e300)).toBe('missing_sequence');
  });

  it('when a body is not JSON, names no order or no known type, or lacks fields, then it is poison with its reason', () => {
    expect(reason('{not json', 2)).toBe('invalid_json');
    expect(reason('"a string"', 2)).toBe('invalid_json');
    expect(reason({ ...envelope, orderID: undefined, eventType: 'OrderDeleted' }, 2)).toBe('missing_order_id');
    expect(reason({ ...envelope, eventType: 'OrderShipped' }, 2)).toBe('unknown_event_type');
    expect(reason({ ...envelope, eventType: 'OrderAddProduct', clientID: userId }, 2)).toBe('invalid_event');
    expect(reason({ ...envelope, orderID: 'not-a-uuid', eventType: 'OrderDeleted' }, 5)).toBe('invalid_event');
  });

  it('when an event lacks a field or breaks a rule of its published body schema, then it is poison even if the projection would not need it', () => {
    const [line, created] = [eventsOf(view)[0]!.body as Record<string, unknown>, eventsOf(view).at(-1)!.body as Record<string, unknown>];
    const { orderPrice: _orderPrice, ...withoutRunningTotal } = line;
    expect(reason(withoutRunningTotal, 2)).toBe('invalid_event');
    expect(reason({ ...line, eventID: 'e' }, 2)).toBe('invalid_event');
    expect(reason({ ...created, paymentMethod: 'Barter' }, 4)).toBe('invalid_event');
    expect(reason({ ...envelope, eventType: 'OrderCanceled', reason: 'Bored' }, 5)).toBe('invalid_event');
  });

  it('when the event is a saga request or an end, then it needs no more than its envelope', () => {
    expect(parseProjectionEvent(message({ ...envelope, eventType: 'OrderCreateSaga' }))).toEqual({ kind: 'none' });
    expect(parseProjectionEvent(message({ ...envelope, eventType: 'OrderCanceled', reason: 'Rejected' }, 5))).toMatchObject({ kind: 'end', orderId, sequence: 5 });
    expect(parseProjectionEvent(message({ ...envelope, orderID: orderId.toUpperCase(), eventType: 'OrderDeleted' }, 6))).toMatchObject({ orderId });
  });
});

describe('Redis errors the projector waits out', () => {
  it('when a Redis Cluster fails over, then its errors are transient (retried), and a script error is not', () => {
    const transient = [
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
      "Cluster isn't ready and enableOfflineQueue options is false",
      'Failed to refresh slots cache.',
    ];
    for (const message of transient) expect(isTransientRedisError(new Error(message)), message).toBe(true);
    expect(isTransientRedisError(new ReplyError('CLUSTERDOWN Hash slot not served'))).toBe(true);
    expect(isTransientRedisError(new ReplyError('ERR user_script:3: attempt to compare nil with number'))).toBe(false);
    expect(isTransientRedisError(new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(false);
  });
});
