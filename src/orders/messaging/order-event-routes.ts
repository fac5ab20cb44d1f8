import type { OrderEventType } from '../domain/order-events.js';
import { OutboxStatus } from '../../outbox/outbox-status.js';

export const ORDERS_EXCHANGE = 'Orders';

/**
 * Where each order event goes (CONTRACT.md's routing keys) and whether it waits for the saga: the order is
 * announced (AddProduct, Created) only after the customer service approved it.
 */
export const ORDER_EVENT_ROUTES: Record<OrderEventType, { routingKey: string; status: typeof OutboxStatus.Ready | typeof OutboxStatus.Held }> = {
  OrderCreateSaga: { routingKey: 'Order.Saga.Create', status: OutboxStatus.Ready },
  OrderAddProduct: { routingKey: 'Order.AddProduct', status: OutboxStatus.Held },
  OrderCreated: { routingKey: 'Order.Create', status: OutboxStatus.Held },
  OrderDeleted: { routingKey: 'Order.Delete', status: OutboxStatus.Ready },
  OrderCanceled: { routingKey: 'Order.Cancel', status: OutboxStatus.Ready },
};
