import type { ConsumeMessage } from 'amqplib';
import { z } from 'zod';
import { uuid } from '../../kernel/schemas.js';
import { PoisonMessageError } from '../../platform/messaging/rabbitmq-consumer.js';
import type { OrderEventType } from '../domain/order-events.js';
import { orderJsonFrame, productLineText } from '../order-json.js';
import { SagaStatus } from '../domain/order-status.js';
import type { CreatedEvent, LineEvent } from './projection-store.js';

/** The AMQP header in which the relay sends the outbox row's per-order sequence. */
export const SEQUENCE_HEADER = 'x-event-sequence';

/** An event of the Orders queue, reduced to what the projection needs. */
export type ProjectionEvent =
  | { kind: 'line'; occurredAt: Date; line: LineEvent }
  | { kind: 'created'; occurredAt: Date; created: CreatedEvent }
  | { kind: 'end'; occurredAt: Date; orderId: string; sequence: number }
  /** OrderCreateSaga: a request to the customer service, nothing to project. */
  | { kind: 'none' };

const EVENT_TYPES: readonly OrderEventType[] = ['OrderCreateSaga', 'OrderAddProduct', 'OrderCreated', 'OrderDeleted', 'OrderCanceled'];

const envelope = z.object({ eventTimeStamp: z.iso.datetime(), orderID: uuid });
const addProduct = z.object({ clientID: uuid, productID: uuid, productName: z.string(), productPrice: z.number() });
const created = z.object({
  client: z.object({ clientID: uuid, username: z.string() }),
  orderStatus: z.string(),
  paymentMethod: z.string(),
  deliveryAddress: z.object({ fullAddress: z.string() }),
  serialNumber: z.number().int().positive(),
  totalPrice: z.number(),
  createdAt: z.iso.datetime(),
});

/** Parses a message of the Orders queue; anything that can never be projected throws a PoisonMessageError. */
export function parseProjectionEvent(message: ConsumeMessage): ProjectionEvent {
  const body = parseBody(message.content);
  if (typeof body.orderID !== 'string' || body.orderID === '') throw new PoisonMessageError('missing_order_id', 'the event has no orderID');
  const eventType = body.eventType as OrderEventType;
  if (!EVENT_TYPES.includes(eventType)) throw new PoisonMessageError('unknown_event_type', `unknown eventType ${JSON.stringify(body.eventType)}`);
  if (eventType === 'OrderCreateSaga') return { kind: 'none' };
  const { orderID, eventTimeStamp } = check(envelope, body);
  const sequence = sequenceOf(message);
  const occurredAt = new Date(eventTimeStamp);
  if (eventType === 'OrderAddProduct') {
    const e = check(addProduct, body);
    const lineJson = productLineText({ productId: e.productID, productName: e.productName, actualPrice: e.productPrice });
    return { kind: 'line', occurredAt, line: { orderId: orderID, sequence, userId: e.clientID, lineJson } };
  }
  if (eventType === 'OrderCreated') return { kind: 'created', occurredAt, created: createdEvent(orderID, sequence, check(created, body)) };
  return { kind: 'end', occurredAt, orderId: orderID, sequence };
}

/**
 * The Order JSON around its products (order-json.ts cuts it), from OrderCreated. Its saga is approved: OrderCreated
 * is held in the outbox until the saga approves, so it is never published for an order in any other state.
 */
function createdEvent(orderId: string, sequence: number, e: z.output<typeof created>): CreatedEvent {
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
function sequenceOf(message: ConsumeMessage): number {
  const raw: unknown = message.properties.headers?.[SEQUENCE_HEADER];
  const sequence = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
  if (typeof sequence !== 'number' || !Number.isInteger(sequence) || sequence < 1) {
    throw new PoisonMessageError('missing_sequence', `header ${SEQUENCE_HEADER} must be a positive integer`);
  }
  return sequence;
}
