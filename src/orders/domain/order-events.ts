import { randomUUID } from 'node:crypto';
import type { DomainEvent } from '../../kernel/aggregate-root.js';

/** The events of CONTRACT.md ("Messages that the service publishes"), fields exactly as published. */
export type OrderCreateSaga = DomainEvent<'OrderCreateSaga', { clientID: string; productsIDs: string[]; totalPrice: number }>;
export type OrderAddProduct = DomainEvent<
  'OrderAddProduct',
  { clientID: string; productID: string; productName: string; productPrice: number; orderPrice: number }
>;
export type OrderCreated = DomainEvent<
  'OrderCreated',
  {
    client: { clientID: string; username: string };
    orderStatus: string;
    paymentMethod: string;
    deliveryAddress: { addressID: string; fullAddress: string };
    serialNumber: number;
    totalPrice: number;
    createdAt: string;
  }
>;
export type OrderDeleted = DomainEvent<'OrderDeleted', Record<string, never>>;
export type CancelReason = 'Rejected' | 'TimedOut';
export type OrderCanceled = DomainEvent<'OrderCanceled', { reason: CancelReason }>;

export type OrderEvent = OrderCreateSaga | OrderAddProduct | OrderCreated | OrderDeleted | OrderCanceled;
export type OrderEventType = OrderEvent['eventType'];

export function orderEvent<E extends OrderEvent>(eventType: E['eventType'], orderId: string, occurredAt: Date, payload: E['payload']): E {
  return { eventId: randomUUID(), eventType, aggregateId: orderId, occurredAt, payload } as E;
}
