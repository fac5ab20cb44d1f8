/** A closed-loop POST /api/v1/orders load with keep-alive connections: a new order per request. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Config } from '../../src/config.js';
import { percentile } from './bench-env.js';

export interface OrderCatalog {
  userId: string;
  addressId: string;
  productId: string;
}

export interface PostLoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** Server process CPU per answered request, in ms. */
  serverCpuMs: number;
}

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
export async function postLoad(port: number, catalog: OrderCatalog, seconds: number, connections: number): Promise<Omit<PostLoadResult, 'serverCpuMs'>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const body = JSON.stringify({ orderID: randomUUID(), paymentMethod: 'Card', productsIDs: [catalog.productId], userID: catalog.userId, deliveryAddress: catalog.addressId });
      const sent = performance.now();
      const status = await post(agent, port, '/api/v1/orders', body).catch(() => 0);
      if (status === 204) latencies.push(performance.now() - sent);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), requests: latencies.length, errors };
}

function post(agent: http.Agent, port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
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
