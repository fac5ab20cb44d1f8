import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { ALL_SCOPES, as, createApprovedOrder, createCustomer, createProduct, newOrderBody, startAuthService, type Customer } from './auth-fixtures.js';

// Whose orders a token reaches: its own user's (orders:read / orders:write), everyone's (orders:admin).

let idp: TestIdentityProvider;
let t: TestService;
let admin: string;
let alice: Customer;
let bob: Customer;
let productId: string;
let aliceToken: string;
let bobOrder: string;

beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  t = await startAuthService(idp);
  admin = await idp.token(randomUUID(), { scope: ALL_SCOPES });
  [alice, bob] = [await createCustomer(t, admin), await createCustomer(t, admin)];
  productId = await createProduct(t, admin);
  aliceToken = await idp.token(alice.userId, { scope: 'orders:read orders:write' });
  bobOrder = await createApprovedOrder(t, admin, bob, productId);
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

const api = (path: string) => `/api/v1${path}`;
const orderExists = async (orderId: string) => {
  const client = await connectPg(t.databaseUrl);
  try {
    return (await client.query('SELECT deleted_at IS NULL AS live FROM orders WHERE id = $1', [orderId])).rows[0]?.live as boolean | undefined;
  } finally {
    await client.end();
  }
};

describe('POST /api/v1/orders', () => {
  it('when a user orders for themself, then it answers 204', async () => {
    const body = newOrderBody(alice, productId);
    expect((await as(t.http.post(api('/orders')), aliceToken).send(body)).status).toBe(204);
    expect(await orderExists(body.orderID)).toBe(true);
  });

  it('when a user orders for another user, then it answers 403 naming orders:admin and stores nothing', async () => {
    const body = newOrderBody(bob, productId);
    const res = await as(t.http.post(api('/orders')), aliceToken).send(body);
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="order-service", error="insufficient_scope", scope="orders:admin"');
    expect(res.body).toEqual({ message: expect.stringMatching(/user of the token/), data: bob.userId });
    expect(await orderExists(body.orderID)).toBeUndefined();
  });

  it('when an admin orders for any user, then it answers 204', async () => {
    const body = newOrderBody(bob, productId);
    expect((await as(t.http.post(api('/orders')), admin).send(body)).status).toBe(204);
  });

  it('when the token spells its user id in upper case, then it is still that user', async () => {
    const upper = await idp.token(alice.userId.toUpperCase(), { scope: 'orders:write' });
    expect((await as(t.http.post(api('/orders')), upper).send(newOrderBody(alice, productId))).status).toBe(204);
  });
});

describe('GET /api/v1/orders/:orderID', () => {
  it("when a user reads their own order, then it answers 200; another user's order answers 404 exactly like an unknown id", async () => {
    const own = await createApprovedOrder(t, admin, alice, productId);
    expect((await as(t.http.get(api(`/orders/${own}`)), aliceToken)).body).toMatchObject({ OrderID: own, client: { ClientID: alice.userId } });
    const other = await as(t.http.get(api(`/orders/${bobOrder}`)), aliceToken);
    const unknownId = randomUUID();
    const unknown = await as(t.http.get(api(`/orders/${unknownId}`)), aliceToken);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({ message: 'order not found', data: bobOrder });
    expect(unknown.body).toEqual({ message: 'order not found', data: unknownId });
  });

  it("when an admin reads another user's order, then it answers 200", async () => {
    expect((await as(t.http.get(api(`/orders/${bobOrder}`)), admin)).body).toMatchObject({ OrderID: bobOrder });
  });
});

describe('GET /api/v1/orders/user/:userID', () => {
  it("when a user reads their own list, then it answers 200 with only their orders; another user's list answers 403", async () => {
    const own = await as(t.http.get(api(`/orders/user/${alice.userId}`)), aliceToken);
    expect(own.status).toBe(200);
    for (const order of own.body.orders) expect(order.client.ClientID).toBe(alice.userId);
    const other = await as(t.http.get(api(`/orders/user/${bob.userId}`)), aliceToken);
    expect(other.status).toBe(403);
    expect(other.headers['www-authenticate']).toContain('scope="orders:admin"');
  });

  it("when an admin reads another user's list, then it answers 200 with that user's orders", async () => {
    const res = await as(t.http.get(api(`/orders/user/${bob.userId}`)), admin);
    expect(res.status).toBe(200);
    expect(res.body.orders.map((order: { OrderID: string }) => order.OrderID)).toContain(bobOrder);
  });
});

describe('GET /api/v1/orders (every user)', () => {
  it('when the token has orders:read only, then it answers 403; with orders:admin, 200', async () => {
    expect((await as(t.http.get(api('/orders')), aliceToken)).status).toBe(403);
    const res = await as(t.http.get(api('/orders')), admin);
    expect(res.status).toBe(200);
    expect(res.body.orders.map((order: { OrderID: string }) => order.OrderID)).toContain(bobOrder);
  });
});

describe.each([
  ['DELETE /orders/:orderID', (id: string, token: string) => as(t.http.delete(api(`/orders/${id}`)), token)],
  ['DELETE /orders with a body', (id: string, token: string) => as(t.http.delete(api('/orders')), token).send({ orderID: id })],
])('%s', (_route, remove) => {
  it("when a user deletes another user's order, then it answers 404 and the order stays", async () => {
    const target = await createApprovedOrder(t, admin, bob, productId);
    const res = await remove(target, aliceToken);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'order not found', data: target });
    expect(await orderExists(target)).toBe(true);
  });

  it('when a user deletes their own approved order, then it answers 204', async () => {
    const own = await createApprovedOrder(t, admin, alice, productId);
    expect((await remove(own, aliceToken)).status).toBe(204);
    expect(await orderExists(own)).toBe(false);
  });

  it("when an admin deletes another user's order, then it answers 204", async () => {
    const target = await createApprovedOrder(t, admin, bob, productId);
    expect((await remove(target, admin)).status).toBe(204);
    expect(await orderExists(target)).toBe(false);
  });
});
