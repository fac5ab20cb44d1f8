import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/platform/cache/redis.js';
import type { TestService } from '../support/service.js';
import { seedCatalog, expect204 } from '../support/fixtures.js';
import { connectPg } from '../support/database.js';
import { ApproveOrder, RejectOrder } from '../../src/orders/saga/saga-reply-commands.js';
import {
  counter,
  createUsers,
  databaseList,
  envelope,
  eventually,
  lagObservations,
  projectedDocs,
  projectorDone,
  rawRedis,
  seededRandom,
  shuffle,
  startWithRoles,
} from './projection-harness.js';

const ORDERS = 200;
const USERS = 8;
const seed = Number(process.env.PROJECTION_SEED ?? Date.now() % 1_000_000);

let t: TestService;
let stopRoles: () => Promise<void>;
let redis: RedisClient;
let users: string[];
const visible = new Set<string>();
const gone = new Set<string>();

beforeAll(async () => {
  ({ t, stopRoles } = await startWithRoles(['relay', 'consumers']));
  redis = rawRedis();
  const random = seededRandom(seed);
  const prices = [100, 9.99, 0.5, 1234.56, 15, 42.42, 7, 88.8, 3.33, 250, 19.95, 1];
  const catalog = await seedCatalog(t, prices.length, prices);
  users = await createUsers(t, catalog.addressId, USERS);
  // Built (empty) before any order exists: from here on only the projector's events can fill the lists.
  for (const userId of users) expect((await t.http.get(`/api/v1/orders/user/${userId}`)).body.total).toBe(0);

  const created: string[] = [];
  for (let batch = 0; batch < ORDERS; batch += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, ORDERS - batch) }, async () => {
        const orderID = randomUUID();
        const products = shuffle(catalog.products, random).slice(0, 1 + Math.floor(random() * 5));
        const body = {
          orderID,
          paymentMethod: ['Online', 'Card', 'Cash'][Math.floor(random() * 3)],
          productsIDs: products.map((p) => p.id),
          userID: users[Math.floor(random() * USERS)],
          deliveryAddress: catalog.addressId,
        };
        await expect204(t.http.post('/api/v1/orders').send(body));
        created.push(orderID);
      }),
    );
  }
  for (const [index, orderID] of created.entries()) {
    if (index % 10 === 3) {
      await t.service.mediator.send(RejectOrder, { orderID }, 'test');
      gone.add(orderID);
      continue;
    }
    await t.service.mediator.send(ApproveOrder, { orderID }, 'test');
    if (index % 10 === 7) {
      await expect204(t.http.delete(`/api/v1/orders/${orderID}`));
      gone.add(orderID);
    } else {
      visible.add(orderID);
    }
  }
  // Every event for the Orders queue (all but the saga requests) published by the relay, then handled by the projector.
  const db = await connectPg(t.databaseUrl);
  const count = async (status?: string) =>
    (await db.query(`SELECT count(*)::int AS n FROM outbox WHERE event_type <> 'OrderCreateSaga' AND ($1::text IS NULL OR status = $1)`, [status ?? null])).rows[0].n as number;
  await eventually('the relay to publish every event', async () => (await count('Ready')) === 0);
  const published = await count('Published');
  await db.end();
  await eventually('the projector to handle every event', async () => (await projectorDone(t)) >= published);
}, 240_000);

afterAll(async () => {
  await stopRoles?.();
  redis?.disconnect();
  await t?.close();
});

describe(`projection of ${ORDERS} orders with random products (seed ${seed})`, () => {
  it('when the projector has every event, then each projected order is byte for byte GET /orders/:orderID', async () => {
    let compared = 0;
    for (const userId of users) {
      const docs = await projectedDocs(redis, t, userId);
      for (const [orderId, doc] of docs) {
        expect(visible.has(orderId), `order ${orderId} should not be projected`).toBe(true);
        const res = await t.http.get(`/api/v1/orders/${orderId}`);
        expect(res.status).toBe(200);
        expect(doc).toBe(res.text);
        compared++;
      }
    }
    expect(compared).toBe(visible.size);
  });

  it('when a user lists their orders, then every page equals the database list, deleted and rejected orders absent', async () => {
    const hitsBefore = await counter(t, 'projection_reads_total', { result: 'hit' });
    for (const userId of users) {
      const expected = await databaseList(t, userId);
      expect(expected.every((order) => visible.has(order.OrderID))).toBe(true);
      for (const params of [
        { limit: 1000, offset: 0, order: 'asc' as const },
        { limit: 7, offset: 3, order: 'desc' as const },
        { limit: 1, offset: 0, order: 'desc' as const },
        { limit: 5, offset: 1000, order: 'asc' as const },
      ]) {
        const res = await t.http.get(`/api/v1/orders/user/${userId}?limit=${params.limit}&offset=${params.offset}&order=${params.order}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(envelope(expected, params));
        expect(res.text).toBe(JSON.stringify(envelope(expected, params)));
      }
    }
    // Every read above came from the projection the events built: no rebuild since the empty lists at the start.
    expect(await counter(t, 'projection_reads_total', { result: 'hit' })).toBe(hitsBefore + USERS * 4);
    expect(await counter(t, 'projection_rebuilds_total', { trigger: 'read' })).toBe(USERS);
    expect(await lagObservations(t)).toBeGreaterThan(0);
    expect(gone.size).toBeGreaterThan(0);
  });
});
