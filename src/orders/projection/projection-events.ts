import type { ConsumeMessage } from 'amqplib';
import type { z } from 'zod';
import { PoisonMessageError } from '../../platform/messaging/rabbitmq-consumer.js';
import { SEQUENCE_HEADER } from '../../platform/messaging/message-headers.js';
import { MAX_ORDER_PRODUCTS } from '../../kernel/schemas.js';
import { ORDER_EVENT_BODIES, orderAddProductBody, orderCreatedBody } from '../domain/order-event-bodies.js';
import type { OrderEventType } from '../domain/order-events.js';
import { orderJsonFrame, productLineText } from '../order-json.js';
import { SagaStatus } from '../domain/order-status.js';
import type { CreatedEvent, LineEvent } from './projection-store.js';

/** An event of the Orders queue, reduced to what the projection needs. */
export type ProjectionEvent =
  | { kind: 'line'; occurredAt: Date; line: LineEvent }
  | { kind: 'created'; occurredAt: Date; created: CreatedEvent }
  | { kind: 'end'; occurredAt: Date; orderId: string; sequence: number }
  /** OrderCreateSaga: a request to the customer service, nothing to project. */
  | { kind: 'none' };

const EVENT_TYPES = Object.keys(ORDER_EVENT_BODIES) as OrderEventType[];

/**
 * Parses a message of the Orders queue with the events' own body schemas (order-event-bodies.ts); anything that
 * can never be projected throws a PoisonMessageError.
 */
export function parseProjectionEvent(message: ConsumeMessage): ProjectionEvent {
  const body = parseBody(message.content);
  if (typeof body.orderID !== 'string' || body.orderID === '') throw new PoisonMessageError('missing_order_id', 'the event has no orderID');
  const eventType = body.eventType as OrderEventType;
  if (!EVENT_TYPES.includes(eventType)) throw new PoisonMessageError('unknown_event_type', `unknown eventType ${JSON.stringify(body.eventType)}`);
  // A saga request has no place in the projection (and does not come here: Order.* does not take Order.Saga.Create).
  if (eventType === 'OrderCreateSaga') return { kind: 'none' };
  if (eventType === 'OrderAddProduct') {
    const e = check(orderAddProductBody, body);
    const lineJson = productLineText({ productId: e.productID, productName: e.productName, actualPrice: e.productPrice });
    return { kind: 'line', occurredAt: new Date(e.eventTimeStamp), line: { orderId: e.orderID, sequence: sequenceOf(message), userId: e.clientID, lineJson } };
  }
  if (eventType === 'OrderCreated') {
    const e = check(orderCreatedBody, body);
    return { kind: 'created', occurredAt: new Date(e.eventTimeStamp), created: createdEvent(sequenceOf(message), e) };
  }
  const e = check(ORDER_EVENT_BODIES[eventType], body);
  return { kind: 'end', occurredAt: new Date(e.eventTimeStamp), orderId: e.orderID, sequence: sequenceOf(message) };
}

/**
 * The Order JSON around its products (order-json.ts cuts it), from OrderCreated. Its saga is approved: OrderCreated
 * is held in the outbox until the saga approves, so it is never published for an order in any other state.
 */
function createdEvent(sequence: number, e: z.output<typeof orderCreatedBody>): CreatedEvent {
  const orderId = e.orderID;
  const { head, tail } = orderJsonFrame({
    orderId,
    serialNumber: e.serialNumber,
    clientId: e.client.clientID,
    clientName: e.client.username,
    fullAddress: e.deliveryAddress.fullAddress,
    paymentMethod: e.paymentMethod,
    orderStatus: e.orderStatus,
    sagaStatus: SagaStatus.Approved,
    createdAt: e.createdAt,
    totalPrice: e.totalPrice,
  });
  return { orderId, sequence, userId: e.client.clientID, head, tail, createdAtMs: Date.parse(e.createdAt), serialNumber: e.serialNumber };
}

function parseBody(content: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    throw new PoisonMessageError('invalid_json', 'the body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new PoisonMessageError('invalid_json', 'the body is not a JSON object');
  return body as Record<string, unknown>;
}

function check<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new PoisonMessageError('invalid_event', `${issue.path.join('.')}: ${issue.message}`);
}

/** Without its sequence an event cannot be ordered or deduplicated against its order's other events. */
/**
 * The most events one order has: the saga request, a line per product, OrderCreated, then OrderDeleted. A larger
 * sequence is no event of this service's; taken as a version, it would outrank every real event of the order for good.
 */
const MAX_SEQUENCE = MAX_ORDER_PRODUCTS + 3;

function sequenceOf(message: ConsumeMessage): number {
  const raw: unknown = message.properties.headers?.[SEQUENCE_HEADER];
  const sequence = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
  if (typeof sequence !== 'number' || !Number.isInteger(sequence) || sequence < 1 || sequence > MAX_SEQUENCE) {
    throw new PoisonMessageError('missing_sequence', `header ${SEQUENCE_HEADER} must be an integer from 1 to ${MAX_SEQUENCE}`);
  }
  return sequence;
}
