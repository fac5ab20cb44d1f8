import { randomUUID } from 'node:crypto';
import type { Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { generateSigningKey, type SigningKey } from '../../src/tools/dev-identity.js';
import { ALL_SCOPES, as, createApprovedOrder, createCustomer, createProduct, newOrderBody, startAuthService, type Customer } from './auth-fixtures.js';

// Every API route with real tokens from an identity service in this process: who gets in, and how the others
// are turned away (RFC 6750 challenges, the contract's error body).

let idp: TestIdentityProvider;
let t: TestService;
let admin: string;
let alice: Customer;
let bob: Customer;
let productId: string;
/** An approved order of Alice that every refused DELETE names: it must survive them all. */
let aliceOrder: string;
/** A key the identity service never published. */
let strangerKey: SigningKey;

beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  t = await startAuthService(idp);
  admin = await idp.token(randomUUID(), { scope: ALL_SCOPES });
  [alice, bob] = [await createCustomer(t, admin), await createCustomer(t, admin)];
  productId = await createProduct(t, admin);
  aliceOrder = await createApprovedOrder(t, admin, alice, productId);
  strangerKey = await generateSigningKey('ES256');
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

const withToken = (request: Test, token: string | undefined) => (token === undefined ? request : as(request, token));
const api = (path: string) => `/api/v1${path}`;

/** Each route with a scope that lets Alice in and a request that would succeed for her. */
const ROUTES: { route: string; scope: string; send: (token: string | undefined) => Test }[] = [
  { route: 'POST /products', scope: 'catalog:write', send: (tk) => withToken(t.http.post(api('/products')), tk).send({ productID: randomUUID(), name: `P ${randomUUID()}`, description: '', price: 1, discount: 0 }) },
  { route: 'PUT /products/:productID/productName', scope: 'catalog:write', send: (tk) => withToken(t.http.put(api(`/products/${productId}/productName`)), tk).send({ productName: `Renamed ${randomUUID()}` }) },
  { route: 'GET /products', scope: '', send: (tk) => withToken(t.http.get(api('/products')), tk) },
  { route: 'GET /products/:productName', scope: '', send: (tk) => withToken(t.http.get(api('/products/nothing-by-this-name')), tk) },
  { route: 'POST /addresses', scope: 'customers:write', send: (tk) => withToken(t.http.post(api('/addresses')), tk).send({ addressID: randomUUID(), buildingNumber: 1, streetName: 's', city: 'c', country: 'c' }) },
  { route: 'POST /address', scope: 'customers:write', send: (tk) => withToken(t.http.post(api('/address')), tk).send({ addressID: randomUUID(), buildingNumber: 1, streetName: 's', city: 'c', country: 'c' }) },
  { route: 'POST /users', scope: 'customers:write', send: (tk) => withToken(t.http.post(api('/users')), tk).send({ userID: randomUUID(), username: 'u', addressID: alice.addressId }) },
  { route: 'POST /orders', scope: 'orders:write', send: (tk) => withToken(t.http.post(api('/orders')), tk).send(newOrderBody(alice, productId)) },
  { route: 'DELETE /orders (body)', scope: 'orders:write', send: (tk) => withToken(t.http.delete(api('/orders')), tk).send({ orderID: aliceOrder }) },
  { route: 'DELETE /orders/:orderID', scope: 'orders:write', send: (tk) => withToken(t.http.delete(api(`/orders/${aliceOrder}`)), tk) },
  { route: 'GET /orders', scope: 'orders:admin', send: (tk) => withToken(t.http.get(api('/orders')), tk) },
  { route: 'GET /orders/:orderID', scope: 'orders:read', send: (tk) => withToken(t.http.get(api(`/orders/${aliceOrder}`)), tk) },
  { route: 'GET /orders/user/:userID', scope: 'orders:read', send: (tk) => withToken(t.http.get(api(`/orders/user/${alice.userId}`)), tk) },
  { route: 'GET /sagas', scope: 'orders:admin', send: (tk) => withToken(t.http.get(api('/sagas')), tk) },
  { route: 'GET /orders/:orderID/history', scope: 'orders:admin', send: (tk) => withToken(t.http.get(api(`/orders/${aliceOrder}/history`)), tk) },
];

/** Tokens that must not get in, each otherwise fit for the route: what is wrong, and the words the answer uses. */
const BAD_TOKENS: [string, (scope: string) => Promise<string>, RegExp][] = [
  ['expired', (scope) => idp.token(alice.userId, { scope, ttlSeconds: -60 }), /expired/],
  ['not valid yet', (scope) => idp.token(alice.userId, { scope, notBeforeSeconds: 120 }), /nbf/],
  ['from another issuer', (scope) => idp.token(alice.userId, { scope, issuer: 'https://elsewhere.test' }), /iss/],
  ['for another audience', (scope) => idp.token(alice.userId, { scope, audience: 'another-service' }), /aud/],
  ['signed with another key under a published kid', (scope) => idp.token(alice.userId, { scope, key: { ...strangerKey, kid: idp.keys.ES256.kid } }), /signature/],
  ['signed with an unpublished key', (scope) => idp.token(alice.userId, { scope, key: strangerKey }), /unknown key/],
  ['unsigned (alg none)', async (scope) => idp.unsignedToken(alice.userId, scope), /algorithm/],
  ['HMAC-signed with the public key (HS256)', (scope) => idp.hmacToken(alice.userId, scope), /algorithm/],
  ['not a JWT', async () => 'not.a.token', /malformed/],
];

describe.each(ROUTES)('$route', ({ scope, send }) => {
  it('when no token is sent, then it answers 401 with a bare Bearer challenge', async () => {
    const res = await send(undefined);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="order-service"');
    expect(res.body).toEqual({ message: expect.stringMatching(/access token is required/), data: '' });
  });

  it.each(BAD_TOKENS)('when the token is %s, then it answers 401 invalid_token saying why', async (_what, token, why) => {
    const res = await send(await token(scope));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="order-service", error="invalid_token", error_description="[^"]+"$/);
    expect(res.headers['www-authenticate']).toMatch(why);
    expect(res.body).toEqual({ message: expect.stringMatching(why), data: '' });
  });

  it('when the Authorization header uses another scheme, then it answers 401 as if no token was sent', async () => {
    const res = await send(undefined).set('Authorization', 'Basic YWxpY2U6c2VjcmV0');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="order-service"');
  });

  it.runIf(scope !== '')('when the token lacks the scope, then it answers 403 insufficient_scope naming it', async () => {
    const other = scope.startsWith('orders') ? 'catalog:write customers:write' : 'orders:read orders:write';
    const res = await send(await idp.token(alice.userId, { scope: other }));
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="order-service", error="insufficient_scope", scope="${scope}"`);
    expect(res.body).toEqual({ message: expect.stringContaining(scope), data: scope });
  });
});

describe('saga visibility', () => {
  it("when a customer asks for the sagas or for her own order's history with orders:read and orders:write, then 403: both are for operators", async () => {
    const own = await idp.token(alice.userId, { scope: 'orders:read orders:write' });
    for (const path of ['/sagas', `/orders/${aliceOrder}/history`]) {
      const res = await as(t.http.get(api(path)), own);
      expect(res.status, path).toBe(403);
      expect(res.body).toEqual({ message: expect.stringContaining('orders:admin'), data: 'orders:admin' });
    }
  });

  it('when an operator with orders:admin asks, then both answer 200', async () => {
    const operator = await idp.token(randomUUID(), { scope: 'orders:admin' });
    expect((await as(t.http.get(api('/sagas?status=Approved')), operator)).body.sagas.map((s: { orderID: string }) => s.orderID)).toContain(aliceOrder);
    expect((await as(t.http.get(api(`/orders/${aliceOrder}/history`)), operator)).body).toMatchObject({ orderID: aliceOrder, sagaStatus: 'Approved' });
  });
});

describe('refused requests change nothing', () => {
  it("when every refused DELETE above has run, then Alice's order is still there", async () => {
    const res = await as(t.http.get(api(`/orders/${aliceOrder}`)), admin);
    expect(res.status).toBe(200);
  });
});

describe('catalog and customers', () => {
  it('when the token has catalog:write, then products are created and renamed; any valid token reads them', async () => {
    const writer = await idp.token(randomUUID(), { scope: 'catalog:write' });
    const name = `Lamp ${randomUUID()}`;
    const id = randomUUID();
    expect((await as(t.http.post(api('/products')), writer).send({ productID: id, name, description: 'd', price: 3, discount: 0 })).status).toBe(204);
    expect((await as(t.http.put(api(`/products/${id}/productName`)), writer).send({ productName: `${name} 2` })).status).toBe(204);
    const reader = await idp.token(randomUUID(), { scope: '' });
    expect((await as(t.http.get(api(`/products/${encodeURIComponent(`${name} 2`)}`)), reader)).body).toMatchObject({ id, name: `${name} 2` });
    expect((await as(t.http.get(api('/products')), reader)).status).toBe(200);
  });

  it('when the token has only orders:admin, then it may not write the catalog or customers (403)', async () => {
    const ordersAdmin = await idp.token(randomUUID(), { scope: 'orders:admin' });
    expect((await as(t.http.post(api('/products')), ordersAdmin).send({ productID: randomUUID(), name: 'X', price: 1, discount: 0 })).status).toBe(403);
    expect((await as(t.http.post(api('/addresses')), ordersAdmin).send({ addressID: randomUUID(), buildingNumber: 1, streetName: 's', city: 'c', country: 'c' })).status).toBe(403);
  });

  it('when the token has customers:write, then addresses and users are created', async () => {
    const writer = await idp.token(randomUUID(), { scope: 'customers:write', alg: 'RS256' });
    const addressID = randomUUID();
    expect((await as(t.http.post(api('/address')), writer).send({ addressID, buildingNumber: 2, streetName: 's', city: 'c', country: 'c' })).status).toBe(204);
    expect((await as(t.http.post(api('/users')), writer).send({ userID: randomUUID(), username: 'carol', addressID })).status).toBe(204);
  });
});

describe('public operational routes', () => {
  beforeAll(async () => {
    // Connected, so /readyz can answer 200: every check up, the identity service's keys among them.
    await t.service.rabbit.start();
    await t.service.rabbit.waitForConnection(10_000);
  });

  // METRICS_PORT is not set here, so /metrics is served on the API's port, and is as public as the others.
  const PUBLIC = ['/openapi.json', '/asyncapi.json', '/healthcheck', '/readyz', '/metrics'];

  it.each(PUBLIC)('when %s is asked without a token or with a broken one, then it answers 200 with no challenge', async (path) => {
    for (const request of [t.http.get(path), t.http.get(path).set('Authorization', 'Bearer not.a.token')]) {
      const res = await request;
      expect(res.status, res.text).toBe(200);
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
  });

  it('when /readyz answers with authentication on, then it reports the identity service keys as a check', async () => {
    expect((await t.http.get('/readyz')).body).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up', rabbitmq: 'up', auth: 'up' } });
  });

  it.each(['/api/v1/products', '/API/V1/products', '/api/v1/', '/api/v1/no-such-route'])('when %s is asked without a token, then it still answers 401', async (path) => {
    const res = await t.http.get(path);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="order-service"');
  });
});
