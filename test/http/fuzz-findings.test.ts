import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204 } from '../support/fixtures.js';

// Requests that answered 500 (or were wrongly accepted) until test/fuzz/http-routes.fuzz.test.ts found them.

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

async function count(table: 'products' | 'addresses'): Promise<number> {
  const client = await connectPg(t.databaseUrl);
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
  await client.end();
  return rows[0].n;
}

const product = (over: Record<string, unknown> = {}) => ({ productID: randomUUID(), name: `Fuzz ${randomUUID()}`, description: 'd', price: 1, discount: 0, ...over });
const address = (over: Record<string, unknown> = {}) => ({ addressID: randomUUID(), buildingNumber: 1, streetName: 's', city: 'c', country: 'c', ...over });

describe('requests the HTTP fuzz found answering 500', () => {
  it('when the body does not decompress as its Content-Encoding says, then it answers 400 in the error shape', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await t.http.post('/api/v1/products').set('Content-Type', 'application/json').set('Content-Encoding', encoding).send(JSON.stringify(product()));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: expect.stringMatching(/^invalid request: /), data: '' });
    }
  });

  it('when a path parameter is not valid percent-encoding, then it answers 400 naming it', async () => {
    for (const path of ['/api/v1/products/%E0%A4%A', '/api/v1/orders/%zz', '/api/v1/products/%/productName']) {
      const res = await t.http.get(path);
      expect(res.status, path).toBe(400);
      expect(res.body).toEqual({ message: 'path is not valid percent-encoding', data: expect.any(String) });
    }
  });

  it('when a text holds a NUL character, then it answers 400 naming the field and stores nothing', async () => {
    const before = await count('products');
    const res = await t.http.post('/api/v1/products').send(product({ description: 'a\u0000b' }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'description: must not contain the NUL character (U+0000)', data: 'a\u0000b' });
    expect((await t.http.post('/api/v1/addresses').send(address({ city: '\u0000' }))).status).toBe(400);
    expect((await t.http.get('/api/v1/products/a%00b')).body).toMatchObject({ message: expect.stringMatching(/^productName: .*NUL/) });
    expect(await count('products')).toBe(before);
  });

  it('when a product name is longer than 200 characters, then creating or renaming it answers 400', async () => {
    const long = `P${randomBytes(1500).toString('hex')}`;
    const res = await t.http.post('/api/v1/products').send(product({ name: long }));
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('name: must be at most 200 characters');
    const existing = product();
    await expect204(t.http.post('/api/v1/products').send(existing));
    const rename = await t.http.put(`/api/v1/products/${existing.productID}/productName`).send({ productName: long });
    expect(rename.status).toBe(400);
    expect(rename.body.message).toBe('productName: must be at most 200 characters');
    const longest = `P${'é'.repeat(199)}`;
    await expect204(t.http.put(`/api/v1/products/${existing.productID}/productName`).send({ productName: longest }));
  });

  it('when a building number does not fit in 32 bits, then it answers 400 and stores nothing', async () => {
    const before = await count('addresses');
    for (const buildingNumber of [2_147_483_648, 1e15]) {
      const res = await t.http.post('/api/v1/addresses').send(address({ buildingNumber }));
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^buildingNumber: /);
    }
    await expect204(t.http.post('/api/v1/addresses').send(address({ buildingNumber: 2_147_483_647 })));
    expect(await count('addresses')).toBe(before + 1);
  });
});

describe('requests the HTTP fuzz found wrongly accepted', () => {
  it('when the fields come only under a "__proto__" key, then they are an unknown key: 400, nothing stored', async () => {
    const before = await count('addresses');
    const res = await t.http.post('/api/v1/addresses').set('Content-Type', 'application/json').send(`{"__proto__": ${JSON.stringify(address())}}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^addressID: /);
    expect(await count('addresses')).toBe(before);
  });

  it('when a valid body also has a "__proto__" key, then the key is ignored like any unknown key', async () => {
    const body = address();
    const text = `{"__proto__": {"addressID": "not-a-uuid"}, ${JSON.stringify(body).slice(1)}`;
    await expect204(t.http.post('/api/v1/addresses').set('Content-Type', 'application/json').send(text));
  });
});
