/**
 * The floor's write of one order: what POST /api/v1/orders leaves in PostgreSQL, done with raw `pg` and
 * nothing else. BEGIN; the order row; its lines in one INSERT; its outbox rows (OrderCreateSaga ready, one
 * OrderAddProduct per line and OrderCreated held for the saga) in one INSERT; COMMIT. Same tables, same
 * columns, bodies shaped like the service's. No reads: the floor trusts the ids and carries the products'
 * names and prices with it, which the service must look up (and check) first.
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface FloorProduct {
  id: string;
  name: string;
  priceCents: number;
  discount: number;
}

export interface FloorOrder {
  orderId: string;
  userId: string;
  addressId: string;
  paymentMethod: string;
  products: FloorProduct[];
  correlationId: string;
}

export interface FloorEvent {
  eventId: string;
  sequence: number;
  routingKey: string;
  eventType: string;
  status: 'Ready' | 'Sagas';
  body: Record<string, unknown>;
}

const SAGA_TIMEOUT_MS = 5 * 60_000;

/** Inserts the order in one transaction on a pooled client; returns the events it wrote to the outbox. */
export async function insertOrderRaw(client: pg.PoolClient, order: FloorOrder): Promise<FloorEvent[]> {
  const createdAt = new Date();
  const lines = order.products.map((product) => ({ ...product, actualCents: Math.round((product.priceCents * (100 - product.discount)) / 100) }));
  const totalCents = lines.reduce((sum, line) => sum + line.actualCents, 0);
  const fingerprint = createHash('sha256').update(JSON.stringify([order.paymentMethod, order.userId, order.addressId, order.products.map((p) => p.id)])).digest('hex');
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ serial_number: string }>(
      `INSERT INTO orders (id, user_id, delivery_address_id, payment_method, order_status, saga_status, saga_deadline,
                           total_cents, request_fingerprint, last_event_sequence, created_at)
       VALUES ($1, $2, $3, $4, 'New', 'Pending', $5, $6, $7, $8, $9) RETURNING serial_number`,
      [order.orderId, order.userId, order.addressId, order.paymentMethod, new Date(createdAt.getTime() + SAGA_TIMEOUT_MS), totalCents, fingerprint, lines.length + 2, createdAt],
    );
    await client.query(
      `INSERT INTO order_lines (order_id, position, product_id, product_name, list_price_cents, discount, actual_price_cents)
       VALUES ${lines.map((_, i) => `($1, ${i}, $${2 + i * 5}, $${3 + i * 5}, $${4 + i * 5}, $${5 + i * 5}, $${6 + i * 5})`).join(', ')}`,
      [order.orderId, ...lines.flatMap((line) => [line.id, line.name, line.priceCents, line.discount, line.actualCents])],
    );
    const events = orderEvents(order, lines, totalCents, Number(rows[0]!.serial_number), createdAt);
    await client.query(
      `INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, correlation_id, status, ready_at)
       VALUES ${events.map((_, i) => `($${1 + i * 8}, $${2 + i * 8}, $${3 + i * 8}, 'Orders', $${4 + i * 8}, $${5 + i * 8}, $${6 + i * 8}, $${7 + i * 8}, $${8 + i * 8}, ${i === 0 ? 'now()' : 'NULL'})`).join(', ')}`,
      events.flatMap((e) => [e.eventId, order.orderId, e.sequence, e.routingKey, e.eventType, JSON.stringify(e.body), order.correlationId, e.status]),
    );
    await client.query('COMMIT');
    return events;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function orderEvents(order: FloorOrder, lines: (FloorProduct & { actualCents: number })[], totalCents: number, serialNumber: number, createdAt: Date): FloorEvent[] {
  const envelope = (eventType: string) => ({ eventID: randomUUID(), eventType, eventTimeStamp: createdAt.toISOString(), orderID: order.orderId });
  const event = (sequence: number, routingKey: string, status: FloorEvent['status'], body: ReturnType<typeof envelope> & Record<string, unknown>): FloorEvent => ({
    eventId: body.eventID,
    sequence,
    routingKey,
    eventType: body.eventType,
    status,
    body,
  });
  let running = 0;
  return [
    event(1, 'Order.Saga.Create', 'Ready', { ...envelope('OrderCreateSaga'), clientID: order.userId, productsIDs: lines.map((l) => l.id), totalPrice: totalCents / 100 }),
    ...lines.map((line, i) => {
      running += line.actualCents;
      return event(2 + i, 'Order.AddProduct', 'Sagas', {
        ...envelope('OrderAddProduct'),
        clientID: order.userId,
        productID: line.id,
        productName: line.name,
        productPrice: line.actualCents / 100,
        orderPrice: running / 100,
      });
    }),
    event(2 + lines.length, 'Order.Create', 'Sagas', {
      ...envelope('OrderCreated'),
      client: { clientID: order.userId, username: 'bench' },
      orderStatus: 'New',
      paymentMethod: order.paymentMethod,
      deliveryAddress: { addressID: order.addressId, fullAddress: 'Russia, Moscow, Pushkina, 44' },
      serialNumber,
      totalPrice: totalCents / 100,
      createdAt: createdAt.toISOString(),
    }),
  ];
}
