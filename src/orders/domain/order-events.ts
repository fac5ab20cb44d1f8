import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { DomainEvent } from '../../kernel/aggregate-root.js';
import type { EnvelopeField, ORDER_EVENT_BODIES } from './order-event-bodies.js';

type Bodies = typeof ORDER_EVENT_BODIES;
/** An event's own fields: its published body (order-event-bodies.ts) without the envelope. */
type PayloadOf<Type extends keyof Bodies> = Omit<z.output<Bodies[Type]>, EnvelopeField>;

/** The events of CONTRACT.md ("Messages that the service publishes"), fields exactly as published. */
export type OrderCreateSaga = DomainEvent<'OrderCreateSaga', PayloadOf<'OrderCreateSaga'>>;
export type OrderAddProduct = DomainEvent<'OrderAddProduct', PayloadOf<'OrderAddProduct'>>;
export type OrderCreated = DomainEvent<'OrderCreated', PayloadOf<'OrderCreated'>>;
export type OrderDeleted = DomainEvent<'OrderDeleted', PayloadOf<'OrderDeleted'>>;
export type OrderCanceled = DomainEvent<'OrderCanceled', PayloadOf<'OrderCanceled'>>;
export type CancelReason = OrderCanceled['payload']['reason'];

export type OrderEvent = OrderCreateSaga | OrderAddProduct | OrderCreated | OrderDeleted | OrderCanceled;
export type OrderEventType = OrderEvent['eventType'];

export function orderEvent<E extends OrderEvent>(eventType: E['eventType'], orderId: string, occurredAt: Date, payload: E['payload']): E {
  return { eventId: randomUUID(), eventType, aggregateId: orderId, occurredAt, payload } as E;
}
