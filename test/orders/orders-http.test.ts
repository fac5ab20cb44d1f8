import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { ApproveOrder, RejectOrder } from '../../src/orders/saga/saga-reply-commands.js';

let t: TestService;
let catalog: Catalog;
beforeAll(async () => {
  t = await startTestService();
  catalog = await seedCatalog(t, 2, [100, 9.99]);
});
afterAll(() => t.close());

const approve = (orderID: string) => t.service.mediator.send(ApproveOrder, { orderID }, 'test');
const reject = (orderID: string) => t.service.mediator.send(RejectOrder, { orderID }, 'test');

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = await connectPg(t.databaseUrl);
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('POST /api/v1/orders', () => {
  it('when the body is valid, then it answers 204 and the order reads back pending with prices after discount', async () => {
    const body = orderBody(catalog, { paymentMethod: 'cash' });
    const res = await t.http.post('/api/v1/orders').send(body);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const read = await t.http.get(`/api/v1/orders/${body.orderID.toUpperCase()}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      orderStatus: 'New',
      paymentMethod: 'Cash',
      client: { ClientID: catalog.userId, ClientName: 'test' },
      address: 'Russia, Moscow, Pushkina, 44',
      OrderID: body.orderID,
      serialNumber: expect.any(Number),
      products: [
        { productID: catalog.products[0]!.id, name: catalog.products[0]!.name, actualPrice: 90 },
        { productID: catalog.products[1]!.id, name: catalog.products[1]!.name, actualPrice: 5 },
      ],
      createdAt: expect.stringMatching(/Z$/),
      totalPrice: 95,
      sagaStatus: 'Pending',
    });
    expect(Object.keys(read.body)).toEqual(['orderStatus', 'paymentMethod', 'client', 'address', 'OrderID', 'serialNumber', 'products', 'createdAt', 'totalPrice', 'sagaStatus']);
  });

  it('when keys differ in case and product ids repeat, then keys match and duplicates collapse into one line', async () => {
    const id = randomUUID();
    const p = catalog.products[0]!.id;
    await expect204(
      t.http.post('/api/v1/orders/').send({ OrderId: id, PAYMENTMETHOD: 'Online', productsIds: [p, p.toUpperCase()], UserID: catalog.userId, deliveryaddress: catalog.addressId }),
    );
    const read = await t.http.get(`/api/v1/orders/${id}`);
    expect(read.body.products).toHaveLength(1);
    expect(read.body.totalPrice).toBe(90);
    expect(read.body.paymentMethod).toBe('Online');
  });

  it('when orders are created one after another, then serial numbers are unique and increasing', async () => {
    const serials: number[] = [];
    for (let i = 0; i < 3; i++) {
      const body = orderBody(catalog);
      await expect204(t.http.post('/api/v1/orders').send(body));
      serials.push((await t.http.get(`/api/v1/orders/${body.orderID}`)).body.serialNumber);
    }
    expect(serials[1]).toBeGreaterThan(serials[0]!);
    expect(serials[2]).toBeGreaterThan(serials[1]!);
  });

  it('when the same order is posted again, then it answers 204 and creates and records nothing new', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    const before = await sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1', [body.orderID]);
    await expect204(t.http.post('/api/v1/orders').send({ ...body, productsIDs: [...body.productsIDs].reverse(), paymentMethod: 'CARD' }));
    const after = await sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1', [body.orderID]);
    expect(after[0]!.n).toBe(before[0]!.n);
    expect((await sql('SELECT 1 FROM orders WHERE id = $1', [body.orderID])).length).toBe(1);
  });

  it('when the same order is posted several times at once, then every answer is 204 and one order exists', async () => {
    const body = orderBody(catalog);
    const statuses = (await Promise.all([1, 2, 3, 4].map(() => t.http.post('/api/v1/orders').send(body)))).map((r) => r.status);
    expect(statuses).toEqual([204, 204, 204, 204]);
    const rows = await sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1', [body.orderID]);
    expect(rows[0]!.n).toBe(4);
  });

  it('when a different body comes under an existing orderID, then it answers 409 and the order is unchanged', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    const res = await t.http.post('/api/v1/orders').send({ ...body, paymentMethod: 'Cash' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'an order with this id already exists with a different body', data: body.orderID });
    expect((await t.http.get(`/api/v1/orders/${body.orderID}`)).body.paymentMethod).toBe('Card');
  });

  it('when the user, address or products are unknown, then it answers 404 naming each unknown id', async () => {
    const ghostUser = randomUUID();
    const ghostProduct = randomUUID();
    const res = await t.http.post('/api/v1/orders').send(orderBody(catalog, { userID: ghostUser, productsIDs: [catalog.products[0]!.id, ghostProduct] }));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: `not found: user ${ghostUser}, product ${ghostProduct}`, data: `${ghostUser},${ghostProduct}` });
    const address = randomUUID();
    const noAddress = await t.http.post('/api/v1/orders').send(orderBody(catalog, { deliveryAddress: address }));
    expect(noAddress.status).toBe(404);
    expect(noAddress.body.data).toBe(address);
  });

  it.each([
    ['unknown payment method', { paymentMethod: 'Bitcoin' }, 'paymentMethod'],
    ['empty product list', { productsIDs: [] }, 'productsIDs'],
    ['product list that is not an array', { productsIDs: 'abc' }, 'productsIDs'],
    ['invalid product id', { productsIDs: ['nope'] }, 'productsIDs.0'],
    ['invalid order id', { orderID: '123' }, 'orderID'],
    ['missing user', { userID: undefined }, 'userID'],
  ])('when the body has an %s, then it answers 400 and stores nothing', async (_case, over, field) => {
    const body = orderBody(catalog, over);
    const res = await t.http.post('/api/v1/orders').send(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}`));
    expect(typeof res.body.data).toBe('string');
    if (typeof body.orderID === 'string' && body.orderID.length === 36) expect(await sql('SELECT 1 FROM orders WHERE id = $1', [body.orderID])).toEqual([]);
  });

  it('when a product price changes later, then existing orders keep the price they were created with', async () => {
    const body = orderBody(catalog, { productsIDs: [catalog.products[1]!.id] });
    await expect204(t.http.post('/api/v1/orders').send(body));
    await sql('UPDATE products SET price_cents = price_cents * 2 WHERE id = $1', [catalog.products[1]!.id]);
    try {
      expect((await t.http.get(`/api/v1/orders/${body.orderID}`)).body.totalPrice).toBe(5);
    } finally {
      await sql('UPDATE products SET price_cents = price_cents / 2 WHERE id = $1', [catalog.products[1]!.id]);
    }
  });
});

describe('GET /api/v1/orders/:orderID', () => {
  it('when the id is unknown, then 404; when it is not a UUID, then 400', async () => {
    const id = randomUUID();
    expect((await t.http.get(`/api/v1/orders/${id}`)).body).toEqual({ message: 'order not found', data: id });
    const bad = await t.http.get('/api/v1/orders/not-an-id');
    expect(bad.status).toBe(400);
    expect(bad.body.data).toBe('not-an-id');
  });

  it('when the saga rejected the order, then it answers 404 and the id stays reserved', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    expect(await reject(body.orderID)).toBe('applied');
    expect((await t.http.get(`/api/v1/orders/${body.orderID}`)).status).toBe(404);
    expect((await t.http.post('/api/v1/orders').send({ ...body, paymentMethod: 'Cash' })).status).toBe(409);
  });
});

describe('DELETE /api/v1/orders', () => {
  it('when the saga is pending, then deleting answers 409 and keeps the order', async () => {
    const body = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').send(body));
    const res = await t.http.delete(`/api/v1/orders/${body.orderID}`);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'order cannot be deleted while its saga is pending', data: body.orderID });
    expect((await t.http.get(`/api/v1/orders/${body.orderID}`)).status).toBe(200);
  });

  it('when an approved order is deleted by path or by body, then 204, and after that 404 everywhere', async () => {
    for (const byBody of [false, true]) {
      const body = orderBody(catalog);
      await expect204(t.http.post('/api/v1/orders').send(body));
      await approve(body.orderID);
      const request = byBody ? t.http.delete('/api/v1/orders/').send({ OrderID: body.orderID }) : t.http.delete(`/api/v1/orders/${body.orderID}/`);
      await expect204(request);
      expect((await t.http.get(`/api/v1/orders/${body.orderID}`)).status).toBe(404);
      const again = await t.http.delete(`/api/v1/orders/${body.orderID}`);
      expect(again.status).toBe(404);
      expect(again.body).toEqual({ message: 'order not found', data: body.orderID });
    }
  });

  it('when the order is unknown, then 404; when the id is invalid or missing, then 400', async () => {
    expect((await t.http.delete(`/api/v1/orders/${randomUUID()}`)).status).toBe(404);
    expect((await t.http.delete('/api/v1/orders/xyz')).status).toBe(400);
    expect((await t.http.delete('/api/v1/orders').send({})).status).toBe(400);
  });
});

describe('GET /api/v1/orders', () => {
  it('when listed, then only approved, not deleted orders come, by creation time, in the list envelope', async () => {
    const own = await startTestService();
    try {
      const mine = await seedCatalog(own, 1, [10]);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const body = orderBody(mine);
        await expect204(own.http.post('/api/v1/orders').send(body));
        ids.push(body.orderID);
      }
      const send = (type: typeof ApproveOrder | typeof RejectOrder, orderID: string) => own.service.mediator.send(type, { orderID }, 'test');
      await send(ApproveOrder, ids[0]!);
      await send(ApproveOrder, ids[1]!);
      await send(ApproveOrder, ids[2]!);
      await send(RejectOrder, ids[3]!);
      await expect204(own.http.delete(`/api/v1/orders/${ids[1]}`));

      const all = await own.http.get('/api/v1/orders');
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ count: 2, total: 2, limit: 1000, offset: 0, order: 'asc' });
      expect(all.body.orders.map((o: { OrderID: string }) => o.OrderID)).toEqual([ids[0], ids[2]]);
      expect(all.body.orders[0].sagaStatus).toBe('Approved');

      const page = await own.http.get('/api/v1/orders?order=desc&limit=1');
      expect(page.body).toMatchObject({ count: 1, total: 2, order: 'desc', limit: 1 });
      expect(page.body.orders[0].OrderID).toBe(ids[2]);
      expect((await own.http.get('/api/v1/orders?offset=5')).body).toMatchObject({ orders: [], count: 0, total: 2 });
      expect((await own.http.get('/api/v1/orders?order=up')).status).toBe(400);
    } finally {
      await own.close();
    }
  });
});
