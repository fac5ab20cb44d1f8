import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { BenchEnvironment } from './bench-env.js';
import { authHeaders } from './bench-auth.js';

export interface OrderClient {
  /** POSTs one order with two products under this correlation id; resolves with the status, 0 if the request failed. */
  createOrder(correlationId?: string): Promise<number>;
  /** The same order body, POSTed to another server's /api/v1/orders (a floor endpoint, say). */
  createOrderOn(port: number, correlationId?: string): Promise<number>;
  /** The seeded rows every order refers to. */
  fixture: OrderFixture;
  close(): void;
}

export interface OrderFixture {
  userId: string;
  addressId: string;
  products: { id: string; name: string; priceCents: number; discount: number }[];
}

/**
 * Creates an address, a user and two products through the API, ANALYZEs every table (fresh tables with
 * foreign keys otherwise get sequential-scan plans for the key checks, ARCHITECTURE.md), and returns a
 * keep-alive client that creates orders from them.
 */
export async function prepareOrderClient(env: BenchEnvironment, port: number): Promise<OrderClient> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const post = (path: string, body: unknown, correlationId: string = randomUUID(), to = port) => postJson(agent, to, path, body, correlationId);
  const setup = async (path: string, body: unknown) => {
    const status = await post(path, body);
    if (status !== 204) throw new Error(`POST ${path} answered ${status}`);
  };
  const userId = randomUUID();
  const addressId = randomUUID();
  const products = [0, 1].map((index) => {
    const id = randomUUID();
    return { id, name: `Bench product ${index} ${id}`, priceCents: (100 + index) * 100, discount: 10 };
  });
  const productIds = products.map((product) => product.id);
  await setup('/api/v1/addresses', { addressID: addressId, buildingNumber: 44, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' });
  await setup('/api/v1/users', { userID: userId, username: 'bench', addressID: addressId });
  for (const product of products) {
    await setup('/api/v1/products', { productID: product.id, name: product.name, description: 'd', price: product.priceCents / 100, discount: product.discount });
  }
  const sql = await env.sql();
  await sql.query('ANALYZE');
  await sql.end();
  const orderBody = () => ({ orderID: randomUUID(), paymentMethod: 'Card', productsIDs: productIds, userID: userId, deliveryAddress: addressId });
  return {
    createOrder: (correlationId) => post('/api/v1/orders', orderBody(), correlationId),
    createOrderOn: (otherPort, correlationId) => post('/api/v1/orders', orderBody(), correlationId, otherPort),
    fixture: { userId, addressId, products },
    close: () => agent.destroy(),
  };
}

/** Resolves with the HTTP status, or 0 when the request failed without one; never rejects. */
export function postJson(agent: http.Agent, port: number, path: string, body: unknown, correlationId: string = randomUUID()): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        timeout: 30_000,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, 'x-request-id': correlationId, ...authHeaders() },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on('error', () => resolve(0));
    req.end(payload);
  });
}
