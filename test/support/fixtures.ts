import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestService } from './service.js';

export interface Catalog {
  addressId: string;
  userId: string;
  products: { id: string; name: string; price: number; discount: number }[];
}

/** Creates an address, a user living there and `count` products through the HTTP API. */
export async function seedCatalog(t: TestService, count = 2, prices: number[] = [100, 9.99]): Promise<Catalog> {
  const addressId = randomUUID();
  const userId = randomUUID();
  await expect204(t.http.post('/api/v1/addresses').send({ addressID: addressId, buildingNumber: 44, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' }));
  await expect204(t.http.post('/api/v1/users').send({ userID: userId, username: 'test', addressID: addressId }));
  const products = [];
  for (let i = 0; i < count; i++) {
    const product = { id: randomUUID(), name: `Product ${randomUUID()}`, price: prices[i % prices.length]!, discount: i === 0 ? 10 : 50 };
    await expect204(t.http.post('/api/v1/products').send({ productID: product.id, name: product.name, description: 'd', price: product.price, discount: product.discount }));
    products.push(product);
  }
  return { addressId, userId, products };
}

export function orderBody(catalog: Catalog, over: Record<string, unknown> = {}) {
  return {
    orderID: randomUUID(),
    paymentMethod: 'Card',
    productsIDs: catalog.products.map((p) => p.id),
    userID: catalog.userId,
    deliveryAddress: catalog.addressId,
    ...over,
  };
}

/** Posts an order of the catalog (`over` replacing fields), expects 204, and gives its id. */
export async function placeOrder(t: TestService, catalog: Catalog, over: Record<string, unknown> = {}): Promise<string> {
  const body = orderBody(catalog, over);
  await expect204(t.http.post('/api/v1/orders').send(body));
  return body.orderID;
}

export async function expect204(request: PromiseLike<{ status: number; body: unknown; text: string }>): Promise<void> {
  const res = await request;
  if (res.status !== 204) throw new Error(`expected 204, got ${res.status}: ${res.text}`);
}

/**
 * The OrderCreated body (after its envelope fields) of an order of the two seeded products (90 and 5 after
 * discount) for the seeded user and address, as CONTRACT.md spells it.
 */
export function orderCreatedFields(catalog: Catalog) {
  return {
    client: { clientID: catalog.userId, username: 'test' },
    orderStatus: 'New',
    paymentMethod: 'Card',
    deliveryAddress: { addressID: catalog.addressId, fullAddress: 'Russia, Moscow, Pushkina, 44' },
    serialNumber: expect.any(Number),
    totalPrice: 95,
    createdAt: expect.stringMatching(/Z$/),
  };
}
