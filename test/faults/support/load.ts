import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Answer } from './http-client.js';

export interface Catalog {
  users: { id: string; addressId: string }[];
  products: string[];
}

/** Users (each with an address) and products, created through the API of one process. */
export async function seedCatalog(port: number, users: number, products: number): Promise<Catalog> {
  const catalog: Catalog = { users: [], products: [] };
  const must = async (path: string, body: unknown) => {
    const answer = await request(port, 'POST', path, body);
    if (!answer.ok || answer.status !== 204) throw new Error(`seeding ${path}: ${answer.ok ? `${answer.status} ${answer.text}` : answer.error}`);
  };
  for (let i = 0; i < products; i++) {
    const id = randomUUID();
    await must('/api/v1/products', { productID: id, name: `Fault product ${id}`, description: 'd', price: 10 + i * 1.25, discount: i % 3 === 0 ? 10 : 0 });
    catalog.products.push(id);
  }
  for (let i = 0; i < users; i++) {
    const addressId = randomUUID();
    const id = randomUUID();
    await must('/api/v1/addresses', { addressID: addressId, buildingNumber: i + 1, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' });
    await must('/api/v1/users', { userID: id, username: `user${i}`, addressID: addressId });
    catalog.users.push({ id, addressId });
  }
  return catalog;
}

export interface PostedOrder {
  id: string;
  userId: string;
  body: Record<string, unknown>;
  acknowledged: boolean;
  attempts: number;
}

export interface LoadOptions {
  /** The ports to spread requests over (round robin); called per request, so it may change as processes die. */
  ports: () => number[];
  catalog: Catalog;
  /** Orders per second, sent at a steady pace. */
  rate: number;
  total: number;
  /** How long one order is retried (same body, so the retry is idempotent) before it counts as not acknowledged. */
  retryForMs: number;
}

/** Every answer of the load, by kind; `unexpected` lists those that are a bug (a 5xx other than 503, a 4xx). */
export interface LoadStats {
  sent: number;
  acknowledged: number;
  byStatus: Map<string, number>;
  /** Latency of each 503 answer: how long a client waited to learn that a dependency is down. */
  latencies503: number[];
  unexpected: string[];
  timeouts: number;
  /** How far the load fell behind its schedule at worst, in orders. */
  maxBehind: number;
}

/**
 * Posts `total` orders at `rate` per second over the given ports. A connection error (the process was killed)
 * or a 503 is retried with the same body on the next port until retryForMs: creating an order is idempotent by
 * orderID, so a retry whose first attempt did commit answers 204 without a second order.
 */
export class OrderLoad {
  readonly orders: PostedOrder[] = [];
  readonly stats: LoadStats = { sent: 0, acknowledged: 0, byStatus: new Map(), latencies503: [], unexpected: [], timeouts: 0, maxBehind: 0 };
  private next = 0;
  private window = { answers: 0, slowestMs: 0 };

  constructor(private readonly options: LoadOptions) {}

  /** Answers and the slowest one since the last call (the progress log's view of latency). */
  takeWindow(): { answers: number; slowestMs: number } {
    const window = this.window;
    this.window = { answers: 0, slowestMs: 0 };
    return window;
  }

  async run(): Promise<void> {
    const { rate, total } = this.options;
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    while (this.stats.sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      this.stats.maxBehind = Math.max(this.stats.maxBehind, due - this.stats.sent);
      while (this.stats.sent < due && inFlight.size < 1_000) {
        const work = this.post(this.newOrder()).finally(() => inFlight.delete(work));
        inFlight.add(work);
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
  }

  private newOrder(): PostedOrder {
    const { catalog } = this.options;
    const user = catalog.users[this.stats.sent % catalog.users.length]!;
    const first = Math.floor(Math.random() * catalog.products.length);
    const second = (first + 1 + Math.floor(Math.random() * (catalog.products.length - 1))) % catalog.products.length;
    const order: PostedOrder = {
      id: randomUUID(),
      userId: user.id,
      body: {
        paymentMethod: ['Online', 'Card', 'Cash'][this.stats.sent % 3],
        productsIDs: [catalog.products[first], catalog.products[second]],
        userID: user.id,
        deliveryAddress: user.addressId,
      },
      acknowledged: false,
      attempts: 0,
    };
    order.body.orderID = order.id;
    this.orders.push(order);
    this.stats.sent++;
    return order;
  }

  private async post(order: PostedOrder): Promise<void> {
    const giveUpAt = Date.now() + this.options.retryForMs;
    for (;;) {
      const ports = this.options.ports();
      const port = ports[this.next++ % ports.length]!;
      order.attempts++;
      const answer = await request(port, 'POST', '/api/v1/orders', order.body);
      this.count(answer, order);
      if (answer.ok && answer.status === 204) {
        order.acknowledged = true;
        this.stats.acknowledged++;
        return;
      }
      if (answer.ok && answer.status !== 503 && answer.status < 500) return; // a 4xx: counted as unexpected, not retried
      if (Date.now() > giveUpAt) return;
      // Refused: the process is down, another one takes it at once. Otherwise a short pause.
      if (!(!answer.ok && answer.error === 'ECONNREFUSED')) await sleep(100 + Math.random() * 200);
    }
  }

  private count(answer: Answer, order: PostedOrder): void {
    const key = answer.ok ? String(answer.status) : answer.error.startsWith('no answer') ? 'timeout' : answer.error;
    this.window.answers++;
    this.window.slowestMs = Math.max(this.window.slowestMs, answer.ms);
    this.stats.byStatus.set(key, (this.stats.byStatus.get(key) ?? 0) + 1);
    if (!answer.ok) {
      if (key === 'timeout') this.stats.timeouts++;
      return;
    }
    if (answer.status === 503) this.stats.latencies503.push(answer.ms);
    else if (answer.status !== 204 && this.stats.unexpected.length < 50) {
      this.stats.unexpected.push(`POST /api/v1/orders ${order.id}: ${answer.status} ${answer.text.slice(0, 300)}`);
    }
  }
}

export function formatStatuses(byStatus: Map<string, number>): string {
  return [...byStatus.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}:${n}`)
    .join(' ');
}

/** The answers counted since `before` was copied from the same map. */
export function countsSince(now: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const since = new Map<string, number>();
  for (const [status, n] of now) if (n > (before.get(status) ?? 0)) since.set(status, n - (before.get(status) ?? 0));
  return since;
}

/**
 * True when a window's answers were all `ok` but for at most `share` of 503s. Two cores run the service, the
 * servers and the load here: a burst of CPU starvation (stop_app's own, a rebuild) can stretch a pool wait past
 * DEPENDENCY_TIMEOUT, which the service rightly answers with a 503 that the client retries.
 */
export function answeredAsExpected(counts: Map<string, number>, ok: string, share = 0.05): boolean {
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  const others = [...counts.keys()].filter((status) => status !== ok && status !== '503');
  return others.length === 0 && (counts.get('503') ?? 0) <= total * share;
}
