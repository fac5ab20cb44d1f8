import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, orderCreatedFields, seedCatalog, type Catalog } from '../support/fixtures.js';
import { HandlerRegistry, Mediator } from '../../src/kernel/mediator.js';
import type { Handler } from '../../src/kernel/message.js';
import { validationBehavior } from '../../src/kernel/behaviors/validation.js';
import { transactionBehavior } from '../../src/kernel/behaviors/transaction.js';
import { sql } from '../../src/platform/database/sql.js';
import { SingleStatementViolation } from '../../src/platform/database/unit-of-work.js';
import { CreateOrder, CreateOrderHandler } from '../../src/orders/create-order.js';
import { ApproveOrder, RejectOrder } from '../../src/orders/saga/saga-reply-commands.js';

let t: TestService;
let catalog: Catalog;
beforeAll(async () => {
  t = await startTestService();
  catalog = await seedCatalog(t, 2, [100, 9.99]);
});
afterAll(() => t.close());

interface Row {
  sequence: number;
  exchange: string;
  routing_key: string;
  event_type: string;
  status: string;
  payload: Record<string, unknown>;
  correlation_id: string;
  event_id: string;
}

async function outboxRows(orderId: string): Promise<Row[]> {
  const client = await connectPg(t.databaseUrl);
  const { rows } = await client.query('SELECT * FROM outbox WHERE aggregate_id = $1 ORDER BY sequence', [orderId]);
  await client.end();
  return rows;
}

describe('outbox rows written by commands', () => {
  it('when an order is created, then its saga request is ready and its announcement is held, in order, with the request id', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').set('X-Request-Id', 'req-create-1').send(body));
    const rows = await outboxRows(body.orderID);
    expect(rows.map((r) => [r.sequence, r.event_type, r.routing_key, r.status])).toEqual([
      [1, 'OrderCreateSaga', 'Order.Saga.Create', 'Ready'],
      [2, 'OrderAddProduct', 'Order.AddProduct', 'Sagas'],
      [3, 'OrderAddProduct', 'Order.AddProduct', 'Sagas'],
      [4, 'OrderCreated', 'Order.Create', 'Sagas'],
    ]);
    expect(rows.every((r) => r.exchange === 'Orders' && r.correlation_id === 'req-create-1')).toBe(true);
    const [saga, first, second, created] = rows;
    const envelope = (row: Row) => ({ eventID: row.event_id, eventType: row.event_type, eventTimeStamp: expect.stringMatching(/Z$/), orderID: body.orderID });
    expect(saga!.payload).toEqual({ ...envelope(saga!), clientID: catalog.userId, productsIDs: body.productsIDs, totalPrice: 95 });
    expect(first!.payload).toEqual({
      ...envelope(first!),
      clientID: catalog.userId,
      productID: catalog.products[0]!.id,
      productName: catalog.products[0]!.name,
      productPrice: 90,
      orderPrice: 90,
    });
    expect(second!.payload).toMatchObject({ productPrice: 5, orderPrice: 95 });
    expect(created!.payload).toEqual({ ...envelope(created!), ...orderCreatedFields(catalog) });
  });

  it('when the saga approves and the order is deleted, then held rows become ready and OrderDeleted follows them', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    expect(await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'c')).toBe('applied');
    expect(await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'c')).toBe('ignored');
    await expect204(t.http.delete(`/api/v1/orders/${body.orderID}`).set('X-Request-Id', 'req-delete-1'));
    const rows = await outboxRows(body.orderID);
    expect(rows.map((r) => [r.sequence, r.event_type, r.status])).toEqual([
      [1, 'OrderCreateSaga', 'Ready'],
      [2, 'OrderAddProduct', 'Ready'],
      [3, 'OrderAddProduct', 'Ready'],
      [4, 'OrderCreated', 'Ready'],
      [5, 'OrderDeleted', 'Ready'],
    ]);
    expect(rows[4]!.correlation_id).toBe('req-delete-1');
    expect(rows[4]!.payload).toEqual({ eventID: rows[4]!.event_id, eventType: 'OrderDeleted', eventTimeStamp: expect.any(String), orderID: body.orderID });
  });

  it('when the saga rejects, then held rows are discarded and OrderCanceled Rejected is ready', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    await t.service.mediator.send(RejectOrder, { orderID: body.orderID }, 'c');
    const rows = await outboxRows(body.orderID);
    expect(rows.map((r) => [r.sequence, r.event_type, r.status])).toEqual([
      [1, 'OrderCreateSaga', 'Ready'],
      [2, 'OrderAddProduct', 'Discarded'],
      [3, 'OrderAddProduct', 'Discarded'],
      [4, 'OrderCreated', 'Discarded'],
      [5, 'OrderCanceled', 'Ready'],
    ]);
    expect(rows[4]!.payload).toMatchObject({ eventType: 'OrderCanceled', reason: 'Rejected', orderID: body.orderID });
  });

  it('when the create statement fails in its outbox part, then no order, line or outbox row of it is written', async () => {
    const body = orderBody(catalog);
    // A stray row holding the order's first sequence number makes the outbox part of the one statement fail.
    const client = await connectPg(t.databaseUrl);
    await client.query(
      `INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, status)
       VALUES (gen_random_uuid(), $1, 1, 'Orders', 'Order.Test', 'OrderTestEvent', '{}', 'Parked')`,
      [body.orderID],
    );
    const res = await t.http.post('/api/v1/orders').send(body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    const { rows: orders } = await client.query('SELECT count(*)::int AS n FROM orders WHERE id = $1', [body.orderID]);
    const { rows: lines } = await client.query('SELECT count(*)::int AS n FROM order_lines WHERE order_id = $1', [body.orderID]);
    await client.query('DELETE FROM outbox WHERE aggregate_id = $1', [body.orderID]);
    await client.end();
    expect([orders[0].n, lines[0].n]).toEqual([0, 0]);
  });

  it('when a command in a transaction fails after saving, then neither the order nor any outbox row is left', async () => {
    const service = t.service;
    const realHandler = service.resolve(CreateOrderHandler);
    const failingAfterSave: Handler<typeof CreateOrder> = {
      async handle(payload, context) {
        await realHandler.handle(payload, context);
        throw new Error('failure after the save');
      },
    };
    // CreateOrder itself runs as a single statement (nothing can fail after it); here it runs in a transaction.
    const mediator = new Mediator(new HandlerRegistry().register(CreateOrder, failingAfterSave), {
      commands: [validationBehavior(), transactionBehavior((_kind, work) => service.database.run('transaction', work))],
      queries: [],
    });
    const body = orderBody(catalog);
    await expect(mediator.send(CreateOrder, body, 'c')).rejects.toThrow('failure after the save');
    expect(await outboxRows(body.orderID)).toEqual([]);
    expect((await t.http.get(`/api/v1/orders/${body.orderID}`)).status).toBe(404);
  });

  it('when a single-statement command tries a second write, then it is refused rather than made outside any transaction', async () => {
    const service = t.service;
    const realHandler = service.resolve(CreateOrderHandler);
    const writesTwice: Handler<typeof CreateOrder> = {
      async handle(payload, context) {
        await realHandler.handle(payload, context);
        await context.unit.write(sql`DELETE FROM orders WHERE id = ${payload.orderID}::uuid`);
      },
    };
    const mediator = new Mediator(new HandlerRegistry().register(CreateOrder, writesTwice), {
      commands: [validationBehavior(), transactionBehavior((kind, work) => service.database.run(kind, work))],
      queries: [],
    });
    const body = orderBody(catalog);
    await expect(mediator.send(CreateOrder, body, 'c')).rejects.toThrow(SingleStatementViolation);
    // Its one write (the order with its lines and events) stands; the refused DELETE never ran.
    expect((await outboxRows(body.orderID)).length).toBe(4);
  });
});
