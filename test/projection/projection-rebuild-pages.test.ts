import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { startTestService } from '../support/service.js';
import { expect204, orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { ApproveOrder } from '../../src/orders/saga/saga-reply-commands.js';
import { USER_ORDERS_PAGE } from '../../src/orders/persistence/order-reads.js';
import { ProjectionRebuild } from '../../src/orders/projection/projection-rebuild.js';
import { ProjectionRepair } from '../../src/orders/projection/projection-repair.js';
import { ProjectionStore, rebuildChunks, REBUILD_CHUNK, type RebuildEntry } from '../../src/orders/projection/projection-store.js';
import { projectionKeys } from '../../src/orders/projection/projection-keys.js';
import { counter, databaseList, envelope, flushTestKeys } from './projection-harness.js';

// A user whose history is longer than a page: the first read of a missing projection rebuilds it a page of
// orders at a time (each page written before the next is read), so the reader holds a page, never the history.

/** More than two pages, and not a multiple of a page. */
const ORDERS = USER_ORDERS_PAGE * 2 + 37;
/** Some deleted on each page: the rebuild writes their tombstones from the page that holds them. */
const deletedAt = (i: number) => i % 50 === 7;
const LISTED = Array.from({ length: ORDERS }, (_, i) => i).filter((i) => !deletedAt(i)).length;

let t: TestService;
let catalog: Catalog;

beforeAll(async () => {
  t = await startTestService();
  catalog = await seedCatalog(t, 3, [100, 9.99, 12.5]);
  for (let i = 0; i < ORDERS; i++) {
    const body = orderBody({ ...catalog, products: catalog.products.slice(0, 1 + (i % 3)) });
    await expect204(t.http.post('/api/v1/orders').send(body));
    await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'test');
    if (deletedAt(i)) await expect204(t.http.delete(`/api/v1/orders/${body.orderID}`));
  }
}, 300_000);

afterAll(async () => {
  await flushTestKeys(t);
  await t?.close();
});

describe('a rebuild of a user with a long history', () => {
  it('when the first read finds no projection, then the rebuild pages through every order and the read answers the same list as PostgreSQL', async () => {
    const expected = await databaseList(t, catalog.userId);
    expect(expected.length).toBe(LISTED);
    const rebuildsBefore = await counter(t, 'projection_rebuilds_total', { trigger: 'read' });
    const first = { limit: 5, offset: USER_ORDERS_PAGE - 2, order: 'asc' as const };
    const res = await t.http.get(`/api/v1/orders/user/${catalog.userId}?limit=${first.limit}&offset=${first.offset}&order=asc`);
    expect(res.text).toBe(JSON.stringify(envelope(expected, first)));
    expect(await counter(t, 'projection_rebuilds_total', { trigger: 'read' })).toBe(rebuildsBefore + 1);
    // Read again: hits, every order once, in both directions.
    for (const params of [{ limit: 1000, offset: 0, order: 'asc' as const }, { limit: 1000, offset: 0, order: 'desc' as const }]) {
      const again = await t.http.get(`/api/v1/orders/user/${catalog.userId}?limit=${params.limit}&order=${params.order}`);
      expect(again.text).toBe(JSON.stringify(envelope(expected, params)));
    }
  });

  it('when a rebuild is between pages, then the list is not yet marked built, so no reader takes a part of it for the whole', async () => {
    await flushTestKeys(t);
    const store = new ProjectionStore(t.service.redis);
    const seenBetweenPages: boolean[] = [];
    const rebuilt = await t.service.resolve(ProjectionRebuild).rebuildUser(catalog.userId, {
      pageSize: 100,
      afterPage: async () => {
        seenBetweenPages.push((await store.readPage(catalog.userId, { limit: 1, offset: 0, order: 'asc' })) !== undefined);
      },
    });
    expect(seenBetweenPages).toEqual(Array(Math.floor(ORDERS / 100)).fill(false));
    expect(rebuilt).toMatchObject({ listed: LISTED });
    expect(new Set(rebuilt!.orders.map((order) => order.orderId)).size).toBe(ORDERS);
    expect((await store.readPage(catalog.userId, { limit: 1, offset: 0, order: 'asc' }))?.total).toBe(rebuilt!.listed);
  });

  it('when many orders share a createdAt, then the pages neither skip nor repeat one (serial numbers break the ties)', async () => {
    await t.service.database.pool.query(`UPDATE orders SET created_at = '2026-01-01T00:00:00Z'::timestamptz + (serial_number % 3) * interval '1 millisecond' WHERE user_id = $1`, [catalog.userId]);
    await flushTestKeys(t);
    const rebuilt = await t.service.resolve(ProjectionRebuild).rebuildUser(catalog.userId, { pageSize: 7 });
    expect(new Set(rebuilt!.orders.map((order) => order.orderId)).size).toBe(ORDERS);
    expect(rebuilt!.orders.length).toBe(ORDERS);
    const params = { limit: 1000, offset: 0, order: 'desc' as const };
    const res = await t.http.get(`/api/v1/orders/user/${catalog.userId}?order=desc`);
    expect(res.text).toBe(JSON.stringify(envelope(await databaseList(t, catalog.userId), params)));
  });

  it('when the repair runs on the long history, then it finds what the merge leaves, past the first batch too: a forged tombstone, and documents under members PostgreSQL does not list', async () => {
    const redis = t.service.redis;
    const listed = await databaseList(t, catalog.userId);
    const victim = listed.at(-3)!;
    // The last batch of the repair: the rebuild writes, and the repair reads, in list order.
    const realMember = String(victim.serialNumber);
    // Written by hand, as a publisher with too much access could have before publishers were checked.
    await redis.hset(projectionKeys.order(catalog.userId, victim.OrderID), 'tomb', '999', 'v', '999');
    await redis.hset(projectionKeys.userDocs(catalog.userId), realMember.padStart(17, '0'), '{"forged":"another form of a listed member"}', '9'.repeat(16), '{"forged":"no such order"}');

    const result = await t.service.resolve(ProjectionRebuild).rebuildAll({ repair: t.service.resolve(ProjectionRepair) });
    expect(result.repaired).toBe(3);
    const res = await t.http.get(`/api/v1/orders/user/${catalog.userId}?order=desc`);
    expect(res.text).toBe(JSON.stringify(envelope(listed, { limit: 1000, offset: 0, order: 'desc' })));
    expect(await redis.hlen(projectionKeys.userDocs(catalog.userId))).toBe(listed.length);
  });

  it('when a reader renews its rebuild lock, then the lock outlives its first time to live, and only its holder can renew it', async () => {
    const store = new ProjectionStore(t.service.redis);
    expect(await store.tryLock(catalog.userId, 'holder', 300)).toBe(true);
    expect(await store.renewLock(catalog.userId, 'someone-else', 60_000)).toBe(false);
    expect(await store.renewLock(catalog.userId, 'holder', 60_000)).toBe(true);
    expect(await t.service.redis.pttl(projectionKeys.userLock(catalog.userId))).toBeGreaterThan(30_000);
    await store.unlock(catalog.userId, 'holder');
    expect(await store.renewLock(catalog.userId, 'holder', 60_000)).toBe(false);
  });
});

describe('the script calls of a rebuild', () => {
  const entry = (bytes: number): RebuildEntry => ({ orderId: 'o', version: 3, serialNumber: 1, createdAtMs: 0, json: 'x'.repeat(bytes) });

  it('when entries are many or large, then each call holds at most REBUILD_CHUNK orders and about REBUILD_CHUNK bytes; an empty rebuild is one call', () => {
    expect(rebuildChunks([]).map((chunk) => chunk.length)).toEqual([0]);
    expect(rebuildChunks(Array.from({ length: REBUILD_CHUNK.orders * 2 + 1 }, () => entry(10))).map((chunk) => chunk.length)).toEqual([REBUILD_CHUNK.orders, REBUILD_CHUNK.orders, 1]);
    const third = Math.floor(REBUILD_CHUNK.bytes / 3);
    expect(rebuildChunks([entry(third), entry(third), entry(third), entry(third)]).map((chunk) => chunk.length)).toEqual([3, 1]);
    // One order larger than the bound still goes, alone.
    expect(rebuildChunks([entry(10), entry(REBUILD_CHUNK.bytes * 2), entry(10)]).map((chunk) => chunk.length)).toEqual([1, 1, 1]);
  });
});
