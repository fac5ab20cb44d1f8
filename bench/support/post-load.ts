/**
 * A closed-loop POST /api/v1/orders load with keep-alive connections: a new order per request, sent with the
 * benchmark's admin token when BENCH_AUTH=1 (bench-auth.ts).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Config } from '../../src/config.js';
import { authHeaders } from './bench-auth.js';
import { closedLoop, type GetLoadResult, type MeasuredLoad } from './http-load.js';

export interface OrderCatalog {
  userId: string;
  addressId: string;
  productId: string;
}

/** A POST load with the server's CPU per answered request. */
export type PostLoadResult = MeasuredLoad;

/** A user, an address and a product to order, made through the mediator (no HTTP, no tracing). */
export async function seedOrderCatalog(config: Config): Promise<OrderCatalog> {
  const { composeService } = await import('../../src/composition/service.js');
  const { createLogger } = await import('../../src/platform/observability/logger.js');
  const { CreateAddress } = await import('../../src/customers/create-address.js');
  const { CreateUser } = await import('../../src/customers/create-user.js');
  const { CreateProduct } = await import('../../src/catalog/create-product.js');
  const service = composeService(config, { logger: createLogger({ level: 'warn' }), defaultMetrics: false });
  const [addressId, userId, productId] = [randomUUID(), randomUUID(), randomUUID()];
  await service.mediator.send(CreateAddress, { addressID: addressId, buildingNumber: 1, streetName: 's', city: 'c', country: 'c' }, 'bench');
  await service.mediator.send(CreateUser, { userID: userId, username: 'bench', addressID: addressId }, 'bench');
  await service.mediator.send(CreateProduct, { productID: productId, name: `Bench ${productId}`, description: 'd', price: 10, discount: 0 }, 'bench');
  await service.close();
  return { userId, addressId, productId };
}

/** `connections` loops, each posting its next order when the previous answer is read, for `seconds`; 204 counts. */
export async function postLoad(port: number, catalog: OrderCatalog, seconds: number, connections: number): Promise<GetLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const order = () => JSON.stringify({ orderID: randomUUID(), paymentMethod: 'Card', productsIDs: [catalog.productId], userID: catalog.userId, deliveryAddress: catalog.addressId });
  const headers = authHeaders();
  try {
    return await closedLoop(seconds, connections, async () => (await post(agent, port, '/api/v1/orders', order(), headers).catch(() => 0)) === 204);
  } finally {
    agent.destroy();
  }
}

function post(agent: http.Agent, port: number, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(body);
  });
}
