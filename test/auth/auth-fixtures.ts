import { randomUUID } from 'node:crypto';
import type { Test } from 'supertest';
import { expect } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { ApproveOrder } from '../../src/orders/saga/saga-reply-commands.js';

export const ALL_SCOPES = 'orders:read orders:write orders:admin catalog:write customers:write';

/** A test service with authentication on against `idp`, once its keys are loaded (unless told not to wait). */
export async function startAuthService(idp: TestIdentityProvider, env: Record<string, string> = {}, wait = true): Promise<TestService> {
  const t = await startTestService(idp.authEnv(env));
  if (wait) await eventually('the identity service keys', async () => t.service.accessTokens!.keys.ready);
  return t;
}

export const bearer = (token: string) => `Bearer ${token}`;

/** A request with this token, as a client sends it. */
export function as<T extends Test>(request: T, token: string): T {
  return request.set('Authorization', bearer(token)) as T;
}

export interface Customer {
  userId: string;
  addressId: string;
}

/** A user with an address, created through the API with an admin token. */
export async function createCustomer(t: TestService, adminToken: string): Promise<Customer> {
  const customer = { userId: randomUUID(), addressId: randomUUID() };
  await expectStatus(as(t.http.post('/api/v1/addresses'), adminToken).send({ addressID: customer.addressId, buildingNumber: 1, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' }), 204);
  await expectStatus(as(t.http.post('/api/v1/users'), adminToken).send({ userID: customer.userId, username: 'user', addressID: customer.addressId }), 204);
  return customer;
}

export async function createProduct(t: TestService, adminToken: string): Promise<string> {
  const id = randomUUID();
  await expectStatus(as(t.http.post('/api/v1/products'), adminToken).send({ productID: id, name: `Product ${id}`, description: 'd', price: 10, discount: 0 }), 204);
  return id;
}

export function newOrderBody(customer: Customer, productId: string) {
  return { orderID: randomUUID(), paymentMethod: 'Card', productsIDs: [productId], userID: customer.userId, deliveryAddress: customer.addressId };
}

/** An approved order of the customer (created by an admin, approved as the saga would). */
export async function createApprovedOrder(t: TestService, adminToken: string, customer: Customer, productId: string): Promise<string> {
  const body = newOrderBody(customer, productId);
  await expectStatus(as(t.http.post('/api/v1/orders'), adminToken).send(body), 204);
  await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'test');
  return body.orderID;
}

export async function expectStatus(request: PromiseLike<{ status: number; text: string }>, status: number): Promise<void> {
  const res = await request;
  expect(res.status, res.text).toBe(status);
}
