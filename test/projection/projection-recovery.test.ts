import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/platform/cache/redis.js';
import type { TestService } from '../support/service.js';
import { expect204, orderBody, seedCatalog } from '../support/fixtures.js';
import { ApproveOrder } from '../../src/orders/saga/saga-reply-commands.js';
import { ProjectionStore } from '../../src/orders/projection/projection-store.js';
import { ProjectionRebuild } from '../../src/orders/projection/projection-rebuild.js';
import { testRedisSettings, unreachableRedisSettings } from '../support/test-redis.js';
import { counter, createUsers, databaseList, envelope, eventually, flushTestKeys, rawRedis, startWithRoles } from './projection-harness.js';

const run = promisify(execFile);

let t: TestService;
let stopRoles: () => Promise<void>;
let redis: RedisClient;
let users: string[];

beforeAll(async () => {
  ({ t, stopRoles } = await startWithRoles(['relay', 'consumers']));
  redis = rawRedis();
  const catalog = await seedCatalog(t, 3, [100, 9.99, 12.5]);
  users = [catalog.userId, ...(await createUsers(t, catalog.addressId, 2))];
  for (const [index, userId] of users.entries()) {
    for (let i = 0; i < 4 + index; i++) {
      const body = orderBody({ ...catalog, userId, products: catalog.products.slice(0, 1 + (i % 3)) });
      await expect204(t.http.post('/api/v1/orders').send(body));
      await t.service.mediator.send(ApproveOrder, { orderID: body.orderID }, 'test');
      if (i === 1) await expect204(t.http.delete(`/api/v1/orders/${body.orderID}`));
    }
  }
}, 120_000);

afterAll(async () => {
  await stopRoles?.();
  redis?.disconnect();
  await t?.close();
});

async function expectListsMatchDatabase(http: TestService['http'] = t.http): Promise<void> {
  for (const userId of users) {
    const expected = await databaseList(t, userId);
    expect(expected.length).toBeGreaterThan(0);
    for (const params of [{ limit: 1000, offset: 0, order: 'asc' as const }, { limit: 2, offset: 1, order: 'desc' as const }]) {
      const res = await http.get(`/api/v1/orders/user/${userId}?limit=${params.limit}&offset=${params.offset}&order=${params.order}`);
      expect(res.status).toBe(200);
      expect(res.text).toBe(JSON.stringify(envelope(expected, params)));
    }
  }
}

const reads = (result: string) => counter(t, 'projection_reads_total', { result });
const rebuilds = (trigger: string) => counter(t, 'projection_rebuilds_total', { trigger });

describe('a lost or unreachable projection', () => {
  it('when the events have been projected, then the lists equal the database lists', async () => {
    await eventually('the projection to have every order', async () => {
      for (const userId of users) {
        const res = await t.http.get(`/api/v1/orders/user/${userId}`);
        if (res.body.total !== (await databaseList(t, userId)).length) return false;
      }
      return true;
    });
    await expectListsMatchDatabase();
  });

  it("when this test's Redis keys are flushed, then the next read rebuilds from PostgreSQL and matches", async () => {
    expect(await flushTestKeys(t)).toBeGreaterThan(0);
    const [missesBefore, rebuildsBefore] = [await reads('miss'), await rebuilds('read')];
    // The rebuilding read answers from the snapshot it wrote: a middle page, newest first.
    for (const userId of users) {
      const params = { limit: 2, offset: 1, order: 'desc' as const };
      const res = await t.http.get(`/api/v1/orders/user/${userId}?limit=2&offset=1&order=desc`);
      expect(res.text).toBe(JSON.stringify(envelope(await databaseList(t, userId), params)));
    }
    await expectListsMatchDatabase();
    expect(await reads('miss')).toBe(missesBefore + users.length);
    expect(await rebuilds('read')).toBe(rebuildsBefore + users.length);
    const hitsBefore = await reads('hit');
    await expectListsMatchDatabase();
    expect(await reads('hit')).toBe(hitsBefore + users.length * 2);
    expect(await reads('degraded')).toBe(0);
  });

  it('when another reader holds the rebuild lock, then a read waits, answers from PostgreSQL and leaves the rebuild to the holder', async () => {
    await flushTestKeys(t);
    const userId = users[0]!;
    const store = new ProjectionStore(t.service.redis);
    expect(await store.tryLock(userId, 'someone-else', 30_000)).toBe(true);
    const rebuildsBefore = await rebuilds('read');
    const res = await t.http.get(`/api/v1/orders/user/${userId}`);
    expect(res.text).toBe(JSON.stringify(envelope(await databaseList(t, userId), { limit: 1000, offset: 0, order: 'asc' })));
    expect(await rebuilds('read')).toBe(rebuildsBefore);
    await store.unlock(userId, 'someone-else');
    await expectListsMatchDatabase();
    expect(await rebuilds('read')).toBe(rebuildsBefore + users.length);
  });

  it('when many reads of a flushed user arrive at once, then all answer the same list', async () => {
    await flushTestKeys(t);
    const userId = users[1]!;
    const expected = JSON.stringify(envelope(await databaseList(t, userId), { limit: 1000, offset: 0, order: 'asc' }));
    const rebuildsBefore = await rebuilds('read');
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.http.get(`/api/v1/orders/user/${userId}`)));
    expect(responses.map((res) => res.text)).toEqual(Array(20).fill(expected));
    expect(await rebuilds('read')).toBeGreaterThan(rebuildsBefore);
  });

  it('when Redis is unreachable, then reads still answer 200 with the same body, counted as degraded, and /readyz says redis is down', async () => {
    const sibling = t.sibling(unreachableRedisSettings());
    try {
      await expectListsMatchDatabase(sibling.http);
      expect(await counter(sibling, 'projection_reads_total', { result: 'degraded' })).toBe(users.length * 2);
      const ready = await sibling.http.get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis).toBe('down');
      expect((await sibling.http.get('/api/v1/orders/user/not-a-uuid')).status).toBe(400);
    } finally {
      await sibling.close();
    }
  });

  it('when every user is rebuilt by the command, then reads are hits that match the database', async () => {
    await flushTestKeys(t);
    const result = await t.service.resolve(ProjectionRebuild).rebuildAll({ pageSize: 2, concurrency: 2 });
    expect(result.users).toBe(users.length);
    let listed = 0;
    for (const userId of users) listed += (await databaseList(t, userId)).length;
    expect(result.orders).toBe(listed);
    const missesBefore = await reads('miss');
    await expectListsMatchDatabase();
    expect(await reads('miss')).toBe(missesBefore);
  });

  it('when `npm run projections -- rebuild` runs, then it prints a progress bar and a summary, and the lists are built', async () => {
    await flushTestKeys(t);
    const { stdout, stderr } = await run('npx', ['tsx', 'src/tools/projections.ts', 'rebuild'], {
      env: { ...process.env, ...testRedisSettings(), DATABASE_URL: t.databaseUrl, REDIS_KEY_PREFIX: t.redisPrefix, LOG_LEVEL: 'error' },
      timeout: 60_000,
    });
    expect(stdout).toMatch(new RegExp(`^projections rebuilt: users=${users.length} orders=\\d+ repaired=0 orphan_keys_deleted=0 old_layout_keys_deleted=0 seconds=\\d+\\.\\d\\d$`, 'm'));
    expect(stderr).toMatch(/\[#+\] 100%/);
    const missesBefore = await reads('miss');
    await expectListsMatchDatabase();
    expect(await reads('miss')).toBe(missesBefore);
  });
});
