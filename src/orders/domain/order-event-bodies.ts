import { z } from 'zod';
import { uuid } from '../../kernel/schemas.js';
import { PAYMENT_METHODS } from './order-status.js';

/**
 * The bodies of the order events as published (CONTRACT.md, "Messages that the service publishes"): the
 * envelope, then the event's own fields. The domain's payload types are these minus the envelope, the projector
 * parses with them, and /asyncapi.json documents them, so the three cannot drift apart.
 */
const ENVELOPE = {
  eventID: uuid.meta({ description: "the event's id, also the message's message_id" }),
  eventTimeStamp: z.iso.datetime().meta({ description: 'when it happened (for OrderAddProduct and OrderCreated: when the order was created)' }),
  orderID: uuid,
};
export type EnvelopeField = keyof typeof ENVELOPE | 'eventType';

function eventBody<Type extends string, Fields extends z.ZodRawShape>(eventType: Type, description: string, fields: Fields) {
  return z
    .object({ ...ENVELOPE, eventType: z.literal(eventType).meta({ description: "also the message's type" }), ...fields })
    .meta({ id: eventType, description });
}

const money = z.number().min(0);

export const orderCreateSagaBody = eventBody('OrderCreateSaga', 'Asks the customer service to accept a new order; it answers on CustomerSaga.', {
  clientID: uuid,
  productsIDs: z.array(uuid).min(1),
  totalPrice: money,
});

export const orderAddProductBody = eventBody('OrderAddProduct', "One line of an approved order, in line order; sent once the saga approved.", {
  clientID: uuid,
  productID: uuid,
  productName: z.string(),
  productPrice: money.meta({ description: "the line's actualPrice: price less discount when the order was created" }),
  orderPrice: money.meta({ description: 'the running total of the order up to this line' }),
});

export const orderCreatedBody = eventBody('OrderCreated', 'An approved order, after its lines; sent once the saga approved.', {
  client: z.object({ clientID: uuid, username: z.string() }),
  orderStatus: z.string().meta({ examples: ['New'] }),
  paymentMethod: z.enum(PAYMENT_METHODS),
  deliveryAddress: z.object({ addressID: uuid, fullAddress: z.string().meta({ description: '<country>, <city>, <streetName>, <buildingNumber>' }) }),
  serialNumber: z.number().int().min(1),
  totalPrice: money,
  createdAt: z.iso.datetime(),
});

export const orderDeletedBody = eventBody('OrderDeleted', 'An approved order was deleted.', {});

export const CANCEL_REASONS = ['Rejected', 'TimedOut'] as const;

export const orderCanceledBody = eventBody('OrderCanceled', 'The saga ended without approval: the order was never announced and is gone.', {
  reason: z.enum(CANCEL_REASONS).meta({ description: 'Rejected by the customer service, or TimedOut (no answer within SAGA_TIMEOUT)' }),
});

/** Each event type's body schema. */
export const ORDER_EVENT_BODIES = {
  OrderCreateSaga: orderCreateSagaBody,
  OrderAddProduct: orderAddProductBody,
  OrderCreated: orderCreatedBody,
  OrderDeleted: orderDeletedBody,
  OrderCanceled: orderCanceledBody,
};
