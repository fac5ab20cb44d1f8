import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { unreachableRedisSettings } from '../support/test-redis.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
});
afterAll(() => t.close());

describe('operational routes', () => {
  it('when the process runs, then /healthcheck answers OK with and without a trailing slash', async () => {
    for (const path of ['/healthcheck', '/healthcheck/']) {
      const res = await t.http.get(path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'OK' });
    }
  });

  it('when every dependency answers, then /readyz is 200 ready with each check up', async () => {
    const res = await t.http.get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up', rabbitmq: 'up' } });
  });

  it('when PostgreSQL and Redis are unreachable, then /readyz is 503 naming them down', async () => {
    const broken = t.sibling({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none', ...unreachableRedisSettings(), DEPENDENCY_TIMEOUT: '300ms' });
    const res = await broken.http.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', checks: { postgres: 'down', redis: 'down', rabbitmq: 'down' } });
    await broken.close();
  });

  it('when PostgreSQL is unreachable, then writes and reads answer 503 in the error shape, not 500', async () => {
    const broken = t.sibling({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none', DEPENDENCY_TIMEOUT: '300ms' });
    const write = await broken.http
      .post('/api/v1/addresses')
      .send({ addressID: '00000000-0000-0000-0000-000000000001', buildingNumber: 1, streetName: 's', city: 'c', country: 'x' });
    expect(write.status).toBe(503);
    expect(write.body).toEqual({ message: 'database unavailable, try again', data: 'postgres' });
    const read = await broken.http.get('/api/v1/products');
    expect(read.status).toBe(503);
    expect(read.body).toEqual({ message: 'database unavailable, try again', data: 'postgres' });
    await broken.close();
  });

  it('when a request was served, then /metrics exports its duration by route pattern, never the raw URL', async () => {
    await t.http.get('/api/v1/products/SomeName');
    const res = await t.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/products/:productName",status="404"}');
    expect(res.text).not.toContain('SomeName');
    expect(res.text).toContain('mediator_message_duration_seconds_count{kind="query",type="GetProductByName",outcome="not_found"}');
  });

  it('when /openapi.json is fetched, then it is an OpenAPI 3.1 document of every route', async () => {
    const res = await t.http.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const path of ['/api/v1/products', '/api/v1/products/{productID}/productName', '/api/v1/products/{productName}', '/api/v1/addresses',
      '/api/v1/address', '/api/v1/users', '/api/v1/orders', '/api/v1/orders/{orderID}', '/healthcheck', '/readyz', '/metrics']) {
      expect(paths).toContain(path);
    }
    const create = res.body.paths['/api/v1/orders'].post;
    expect(create.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/NewOrder' });
    expect(res.body.components.schemas.NewOrder.required).toEqual(expect.arrayContaining(['orderID', 'paymentMethod', 'productsIDs', 'userID', 'deliveryAddress']));
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['204', '400', '404', '409', '503']));
  });

  it('when /openapi.json is read, then the saga routes document their parameters and answers', async () => {
    const { paths, components } = (await t.http.get('/openapi.json')).body;
    const list = paths['/api/v1/sagas'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(['limit', 'offset', 'order', 'status', 'olderThan']);
    expect(list.parameters.find((p: { name: string }) => p.name === 'status').schema.enum).toEqual(['Pending', 'Approved', 'Rejected', 'TimedOut']);
    expect(list.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SagaPage' });
    const page = components.schemas.SagaPage;
    expect(page.properties.sagas.items).toEqual({ $ref: '#/components/schemas/Saga' });
    expect(components.schemas.Saga.required).toEqual(expect.arrayContaining(['orderID', 'status', 'createdAt', 'deadline', 'ageSeconds']));
    const history = paths['/api/v1/orders/{orderID}/history'].get;
    expect(Object.keys(history.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
    const body = history.responses['200'].content['application/json'].schema;
    expect(body.$ref).toBe('#/components/schemas/OrderHistory');
    expect(components.schemas.OrderHistory.required).toEqual(expect.arrayContaining(['events', 'replies', 'timeout', 'retention']));
  });

  it('when a client sends X-Request-Id, then the answer echoes it; otherwise a new id is made', async () => {
    const given = await t.http.get('/healthcheck').set('X-Request-Id', 'trace-123');
    expect(given.headers['x-request-id']).toBe('trace-123');
    const made = await t.http.get('/healthcheck');
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a route does not exist, then it answers 404 in the error shape', async () => {
    const res = await t.http.get('/api/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'route not found', data: 'GET /api/v1/nothing' });
  });
});
