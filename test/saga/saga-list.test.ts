import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { eventually } from '../support/polling.js';
import { publishReply } from '../support/workload.js';
import { PENDING_AGE_BUCKETS, SagaGaugesJob } from '../../src/orders/saga/saga-gauges-job.js';
import { startTestService } from '../support/service.js';

// GET /api/v1/sagas and the stuck-saga gauges on real servers: which sagas wait, since when, until when.

let h: SagaHarness;
beforeAll(async () => {
  h = await startSagaHarness();
});
afterAll(() => h?.close());

const sagas = (query: string) => h.t.http.get(`/api/v1/sagas${query}`);
/** Makes an order look created `minutes` ago (and its deadline SAGA_TIMEOUT after that, as creation sets it). */
const age = (orderId: string, minutes: number) =>
  h.db.query(`UPDATE orders SET created_at = now() - $2 * interval '1 minute', saga_deadline = now() - $2 * interval '1 minute' + interval '5 minutes' WHERE id = $1`, [orderId, minutes]);

describe('the saga list', () => {
  it('when sagas wait, then the pending ones come oldest first with age and deadline, in the list envelope, and olderThan keeps the old ones', async () => {
    const [old, older, fresh] = [await h.createOrder(), await h.createOrder(), await h.createOrder()];
    await age(old, 3);
    await age(older, 4);
    const res = await sagas('?olderThan=2m');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['sagas', 'count', 'total', 'limit', 'offset', 'order']);
    expect(res.body.sagas.map((s: { orderID: string }) => s.orderID)).toEqual([older, old]);
    expect(res.body).toMatchObject({ count: 2, total: 2, limit: 1000, offset: 0, order: 'asc' });
    const first = res.body.sagas[0];
    expect(first).toEqual({ orderID: older, userID: h.catalog.userId, status: 'Pending', createdAt: expect.any(String), deadline: expect.any(String), endedAt: null, ageSeconds: expect.any(Number) });
    expect(first.ageSeconds).toBeGreaterThanOrEqual(240);
    expect(Date.parse(first.deadline) - Date.parse(first.createdAt)).toBe(5 * 60_000);
    const all = await sagas('?limit=1&order=desc');
    expect(all.body).toMatchObject({ count: 1, limit: 1, order: 'desc' });
    expect(all.body.total).toBeGreaterThanOrEqual(3);
    expect(all.body.sagas[0].orderID).toBe(fresh);
  });

  it('when asked for another state, then only sagas that ended so are listed, with when they ended', async () => {
    const orderId = await h.createOrder();
    await publishReply(h.t, { orderID: orderId, orderType: 'Rejected' });
    const res = await eventually('the rejection', async () => {
      const page = await sagas('?status=Rejected');
      return page.body.sagas?.some((s: { orderID: string }) => s.orderID === orderId) ? page : undefined;
    });
    expect(res.body.sagas.every((s: { status: string; endedAt: string | null }) => s.status === 'Rejected' && typeof s.endedAt === 'string')).toBe(true);
  });

  it.each([
    ['status=pending', 'status'],
    ['status=Waiting', 'status'],
    ['olderThan=abc', 'olderThan'],
    ['olderThan=3651d', 'olderThan'],
    [`olderThan=${'9'.repeat(400)}`, 'olderThan'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['order=DESC', 'order'],
  ])('when the query has %s, then it answers 400 naming %s, repeating at most 100 characters', async (query, field) => {
    const res = await sagas(`?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(new RegExp(field));
    expect(res.body.data.length).toBeLessThan(150);
  });
});

describe('the stuck-saga gauges', () => {
  it('when no gauge job has run yet (or the process has no scheduler), then every age bucket is exported, at 0', async () => {
    const t = await startTestService();
    try {
      const text = (await t.http.get('/metrics')).text;
      for (const { label } of PENDING_AGE_BUCKETS) expect(text).toContain(`saga_pending{older_than="${label}"} 0`);
    } finally {
      await t.close();
    }
  });

  it('when sagas have waited, then the oldest age and the count per age bucket say how long, and SAGA_TIMEOUT is exported beside them', async () => {
    const orderId = await h.createOrder();
    // Created 20 minutes ago, its deadline left in the future, so the scheduler does not time it out meanwhile.
    await h.db.query(`UPDATE orders SET created_at = now() - interval '20 minutes' WHERE id = $1`, [orderId]);
    await h.t.service.resolve(SagaGaugesJob).run();
    const text = (await h.t.http.get('/metrics')).text;
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('saga_pending_oldest_age_seconds')).toBeGreaterThanOrEqual(20 * 60);
    expect(value('saga_pending{older_than="15m"}')).toBeGreaterThanOrEqual(1);
    expect(value('saga_pending{older_than="1h"}')).toBe(0);
    expect(value('saga_pending{older_than="0s"}')).toBeGreaterThanOrEqual(value('saga_pending{older_than="15m"}'));
    expect(value('saga_timeout_seconds')).toBe(300);
  });
});
