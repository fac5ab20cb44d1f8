import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { expect204, seedCatalog, type Catalog } from '../support/fixtures.js';
import { createLogger } from '../../src/platform/observability/logger.js';

// Hostile input: deep nesting, huge values, long texts. Each is refused with a 400 that repeats (and logs) at
// most a short excerpt of what was sent.

const logLines: string[] = [];
let t: TestService;
let catalog: Catalog;
beforeAll(async () => {
  const logger = createLogger({ level: 'debug' });
  logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }) }));
  t = await startTestService({}, { logger });
  catalog = await seedCatalog(t, 1, [10]);
});
afterAll(() => t.close());

const product = (over: Record<string, unknown> = {}) => ({ productID: randomUUID(), name: `Limit ${randomUUID()}`, description: 'd', price: 1, discount: 0, ...over });
const address = (over: Record<string, unknown> = {}) => ({ addressID: randomUUID(), buildingNumber: 1, streetName: 's', city: 'c', country: 'c', ...over });

describe('JSON nesting', () => {
  it('when a body is 10,000 arrays deep, then it answers 400, not 500', async () => {
    const res = await t.http.post('/api/v1/products').set('Content-Type', 'application/json').send(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'JSON body is nested deeper than 32 levels', data: '' });
  });

  it('when a field holds objects 33 deep, then it answers 400; 32 deep is judged by the schema alone', async () => {
    const nest = (depth: number): unknown => (depth === 0 ? 1 : { a: nest(depth - 1) });
    expect((await t.http.post('/api/v1/products').send(product({ description: nest(32) }))).body.message).toMatch(/nested deeper than 32/);
    expect((await t.http.post('/api/v1/products').send(product({ description: nest(31) }))).body.message).toMatch(/^description: /);
  });
});

describe('echoed values', () => {
  it('when an id of 1,000,000 characters is sent, then the 400 and the log line repeat only its first 100', async () => {
    const huge = 'x'.repeat(1_000_000);
    const res = await t.http.post('/api/v1/products').send(product({ productID: huge }));
    expect(res.status).toBe(400);
    expect(res.body.data).toBe(`${'x'.repeat(100)}... (1000000 characters)`);
    expect(res.text.length).toBeLessThan(400);
    const logged = logLines.filter((line) => line.includes('xxxxxxxxxx'));
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line.length).toBeLessThan(1_000);
  });

  it('when a path is 5,000 characters of an unknown route, then the 404 repeats an excerpt of it', async () => {
    const res = await t.http.get(`/api/v1/${'z'.repeat(5_000)}`);
    expect(res.status).toBe(404);
    expect(res.body.data).toMatch(/^GET \/api\/v1\/z+\.\.\. \(\d+ characters\)$/);
    expect(res.body.data.length).toBeLessThan(130);
  });
});

describe('stored text sizes', () => {
  it('when a product name, username, street, city or country is longer than 200 characters, then it answers 400 naming the field; 200 is accepted', async () => {
    const long = 'N'.repeat(201);
    expect((await t.http.post('/api/v1/products').send(product({ name: long }))).body.message).toBe('name: must be at most 200 characters');
    for (const field of ['streetName', 'city', 'country']) {
      expect((await t.http.post('/api/v1/addresses').send(address({ [field]: long }))).body.message).toBe(`${field}: must be at most 200 characters`);
    }
    expect((await t.http.post('/api/v1/users').send({ userID: randomUUID(), username: long, addressID: catalog.addressId })).body.message).toBe('username: must be at most 200 characters');
    await expect204(t.http.post('/api/v1/products').send(product({ name: `N${'é'.repeat(199)}` })));
    await expect204(t.http.post('/api/v1/addresses').send(address({ streetName: 'S'.repeat(200), city: 'C'.repeat(200), country: 'K'.repeat(200) })));
  });

  it('when a description is longer than 2,000 characters, then it answers 400; 2,000 is accepted', async () => {
    expect((await t.http.post('/api/v1/products').send(product({ description: 'd'.repeat(2_001) }))).body.message).toBe('description: must be at most 2000 characters');
    await expect204(t.http.post('/api/v1/products').send(product({ description: 'd'.repeat(2_000) })));
  });

  it('when a name holds a control character, then it answers 400', async () => {
    for (const name of ['Line\nbreak', 'Bell\u0007', 'Esc\u001b[31m', 'C1\u0085']) {
      const res = await t.http.post('/api/v1/products').send(product({ name }));
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.body.message).toBe('name: must not contain control characters (U+0001-U+001F, U+007F-U+009F)');
    }
  });

  it('when an order names more than 100 products, then it answers 400; 100 are accepted', async () => {
    const order = (count: number) => ({
      orderID: randomUUID(),
      paymentMethod: 'Card',
      productsIDs: Array.from({ length: count }, (_, i) => (i === 0 ? catalog.products[0]!.id : randomUUID())),
      userID: catalog.userId,
      deliveryAddress: catalog.addressId,
    });
    const tooMany = await t.http.post('/api/v1/orders').send(order(101));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe('productsIDs: must name at most 100 products');
    // 100 ids pass validation and reach the handler, which names the unknown ones (404).
    const hundred = await t.http.post('/api/v1/orders').send(order(100));
    expect(hundred.status).toBe(404);
    expect(hundred.body.message.length).toBeLessThanOrEqual(330);
  });
});
