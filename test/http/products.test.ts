import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { expect204 } from '../support/fixtures.js';
import { connectPg } from '../support/database.js';

async function productsWithId(id: string): Promise<number> {
  const client = await connectPg(t.databaseUrl);
  const { rows } = await client.query('SELECT count(*)::int AS n FROM products WHERE id::text = $1', [id]);
  await client.end();
  return rows[0].n;
}

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

const newProduct = (over: Record<string, unknown> = {}) => ({
  productID: randomUUID(),
  name: `Phone ${randomUUID()}`,
  description: 'a phone',
  price: 99.99,
  discount: 10,
  ...over,
});

describe('POST /api/v1/products', () => {
  it('when the body is valid, then it answers 204 with an empty body and the product reads back in the contract shape', async () => {
    const body = newProduct();
    const res = await t.http.post('/api/v1/products').send(body);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const read = await t.http.get(`/api/v1/products/${encodeURIComponent(body.name)}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      id: body.productID,
      name: body.name,
      price: 99.99,
      discount: 10,
      quantity: 1,
      description: 'a phone',
      availability: true,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('when keys differ in case and the id is upper-case, then it is the same product with a lower-case id', async () => {
    const id = randomUUID();
    const name = `Case ${id}`;
    await expect204(t.http.post('/api/v1/products/').send({ ProductID: id.toUpperCase(), NAME: name, Description: 'x', PRICE: 5, Discount: 0 }));
    const read = await t.http.get(`/api/v1/products/${encodeURIComponent(name)}/`);
    expect(read.body).toMatchObject({ id, name, description: 'x', price: 5, discount: 0 });
  });

  it('when the id exists, then it answers 409 naming the id', async () => {
    const body = newProduct();
    await expect204(t.http.post('/api/v1/products').send(body));
    const res = await t.http.post('/api/v1/products').send({ ...body, name: `Other ${randomUUID()}` });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'a product with this id already exists', data: body.productID });
  });

  it('when the name exists, then it answers 409 naming the name', async () => {
    const body = newProduct();
    await expect204(t.http.post('/api/v1/products').send(body));
    const res = await t.http.post('/api/v1/products').send({ ...body, productID: randomUUID() });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'a product with this name already exists', data: body.name });
  });

  it('when two identical products are posted at once, then one is created and the other is a 409, never a 500', async () => {
    const body = newProduct();
    const statuses = (await Promise.all([1, 2, 3].map(() => t.http.post('/api/v1/products').send(body)))).map((r) => r.status).sort();
    expect(statuses).toEqual([204, 409, 409]);
  });

  it.each([
    ['price of zero', { price: 0 }, 'price'],
    ['negative price', { price: -1 }, 'price'],
    ['price with three decimals', { price: 1.234 }, 'price must have at most 2 decimals'],
    ['price as a string', { price: '10' }, 'price'],
    ['discount of 100', { discount: 100 }, 'discount'],
    ['fractional discount', { discount: 1.5 }, 'discount'],
    ['negative discount', { discount: -1 }, 'discount'],
    ['empty name', { name: '' }, 'name'],
    ['invalid id', { productID: 'not-a-uuid' }, 'productID'],
    ['missing id', { productID: undefined }, 'productID'],
  ])('when the body has a %s, then it answers 400 saying so and creates nothing', async (_case, over, message) => {
    const body = newProduct(over);
    const res = await t.http.post('/api/v1/products').send(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(message);
    expect(typeof res.body.data).toBe('string');
    expect(await productsWithId(String(body.productID))).toBe(0);
  });

  it('when the JSON is malformed, then it answers 400 malformed JSON', async () => {
    const res = await t.http.post('/api/v1/products').set('Content-Type', 'application/json').send('{"productID": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'malformed JSON body', data: '{"productID": ' });
  });

  it('when a GET carries a body, even malformed JSON, then the body is not read and the product is answered', async () => {
    const body = newProduct();
    await expect204(t.http.post('/api/v1/products').send(body));
    const res = await t.http.get(`/api/v1/products/${encodeURIComponent(body.name)}`).set('Content-Type', 'application/json').send('{"productID": ');
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(body.productID);
  });

  it('when a GET carries a body over the 1 MB limit, then it is not read and the product is answered', async () => {
    const body = newProduct();
    await expect204(t.http.post('/api/v1/products').send(body));
    const res = await t.http.get(`/api/v1/products/${encodeURIComponent(body.name)}`).set('Content-Type', 'application/json').send('x'.repeat(3_000_000));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(body.productID);
  });

  it('when the body is not an object, then it answers 400', async () => {
    const res = await t.http.post('/api/v1/products').set('Content-Type', 'application/json').send('[1,2]');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('request body must be a JSON object');
  });

  it('when the body is over 1 MB, then it answers 413 in the error shape', async () => {
    const res = await t.http.post('/api/v1/products').send(newProduct({ description: 'x'.repeat(1_100_000) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ message: expect.stringContaining('larger than'), data: expect.any(String) });
  });
});

describe('PUT /api/v1/products/:productID/productName', () => {
  it('when the new name starts upper-case, then it answers 204 and the product is found by its new name', async () => {
    const body = newProduct();
    await expect204(t.http.post('/api/v1/products').send(body));
    const newName = `Renamed ${randomUUID()}`;
    await expect204(t.http.put(`/api/v1/products/${body.productID}/productName`).send({ productname: newName }));
    expect((await t.http.get(`/api/v1/products/${encodeURIComponent(newName)}`)).body.id).toBe(body.productID);
    expect((await t.http.get(`/api/v1/products/${encodeURIComponent(body.name)}`)).status).toBe(404);
  });

  it('when the new name starts lower-case, then it answers 400 and keeps the old name', async () => {
    const body = newProduct();
    await expect204(t.http.post('/api/v1/products').send(body));
    const res = await t.http.put(`/api/v1/products/${body.productID}/productName`).send({ productName: 'lower' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'productName must start with an upper-case letter', data: 'lower' });
    expect((await t.http.get(`/api/v1/products/${encodeURIComponent(body.name)}`)).status).toBe(200);
  });

  it('when the id is not a UUID, then it answers 400; when unknown, 404', async () => {
    const bad = await t.http.put('/api/v1/products/xyz/productName').send({ productName: 'Name' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ data: 'xyz' });
    const id = randomUUID();
    const unknown = await t.http.put(`/api/v1/products/${id}/productName`).send({ productName: 'Name' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ message: 'product not found', data: id });
  });

  it('when another product has the name, then it answers 409', async () => {
    const first = newProduct();
    const second = newProduct();
    await expect204(t.http.post('/api/v1/products').send(first));
    await expect204(t.http.post('/api/v1/products').send(second));
    const res = await t.http.put(`/api/v1/products/${second.productID}/productName`).send({ productName: first.name });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'product name is taken', data: first.name });
  });

  it('when the body has no productName, then it answers 400', async () => {
    const res = await t.http.put(`/api/v1/products/${randomUUID()}/productName`).send({});
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/productName/);
  });
});

describe('GET /api/v1/products', () => {
  it('when listed, then products come sorted by price in the list envelope, paged by limit and offset', async () => {
    const own = await startTestService();
    try {
      for (const price of [30, 10, 20]) await expect204(own.http.post('/api/v1/products').send(newProduct({ price })));
      const all = await own.http.get('/api/v1/products');
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ count: 3, total: 3, limit: 1000, offset: 0, order: 'asc' });
      expect(all.body.products.map((p: { price: number }) => p.price)).toEqual([10, 20, 30]);

      const page = await own.http.get('/api/v1/products/?limit=1&offset=1&order=desc');
      expect(page.body).toMatchObject({ count: 1, total: 3, limit: 1, offset: 1, order: 'desc' });
      expect(page.body.products.map((p: { price: number }) => p.price)).toEqual([20]);

      const beyond = await own.http.get('/api/v1/products?offset=10');
      expect(beyond.body).toMatchObject({ products: [], count: 0, total: 3 });
    } finally {
      await own.close();
    }
  });

  it.each([['limit=0'], ['limit=1001'], ['limit=abc'], ['limit=1.5'], ['offset=-1'], ['order=sideways'], ['order=DESC'], ['limit=1&limit=2']])(
    'when the list parameters are %s, then it answers 400',
    async (query) => {
      const res = await t.http.get(`/api/v1/products?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: expect.any(String), data: expect.any(String) });
    },
  );
});

describe('GET /api/v1/products/:productName', () => {
  it('when the name is unknown, then it answers 404 naming it', async () => {
    const res = await t.http.get('/api/v1/products/Nothing%20here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'product not found', data: 'Nothing here' });
  });
});
