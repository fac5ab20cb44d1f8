import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitOfWork } from '../../src/platform/database/unit-of-work.js';
import { sql } from '../../src/platform/database/sql.js';
import { startTestService, type TestService } from '../support/service.js';

// An operator tells a pool that is too small from a PostgreSQL that is too slow by db_pool_connections (busy
// against max, and callers waiting) and db_pool_wait_seconds (what transactions waited for a connection). These
// tests hold the pool full on purpose and read what a scrape of /metrics says about it.

let t: TestService;

beforeAll(async () => {
  t = await startTestService({ DATABASE_POOL_SIZE: '2' });
});
afterAll(async () => {
  await t?.close();
});

/** A sample of a service's registry, as a scrape would read it (0 when absent). */
async function sample(name: string, labels = '', service: TestService = t): Promise<number> {
  const text = await service.service.metrics.registry.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** Both connections of the service's pool held by transactions until `release()`; `done` when they have ended. */
function holdPoolFull(service: TestService = t): { release(): void; done: Promise<void> } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const hold = () =>
    service.service.database.run('transaction', async (unit: UnitOfWork) => {
      await unit.read(sql`SELECT 1`);
      await released;
    });
  return { release, done: Promise.all([hold(), hold()]).then(() => undefined) };
}

const oneTransaction = (service: TestService = t) => service.service.database.run('transaction', (unit) => unit.read(sql`SELECT 1`));

describe('the PostgreSQL pool in /metrics', () => {
  it('when both connections are held and a third transaction asks for one, then busy is 2 of max 2 and one caller waits', async () => {
    const pool = holdPoolFull();
    await expect.poll(() => sample('db_pool_connections', '{state="busy"}')).toBe(2);
    const third = oneTransaction();
    await expect.poll(() => sample('db_pool_connections', '{state="waiting"}')).toBe(1);
    expect(await sample('db_pool_connections', '{state="max"}')).toBe(2);
    pool.release();
    await Promise.all([pool.done, third]);
    expect(await sample('db_pool_connections', '{state="waiting"}')).toBe(0);
    expect(await sample('db_pool_connections', '{state="busy"}')).toBe(0);
    expect(await sample('db_pool_connections', '{state="idle"}')).toBe(2);
  });

  it('when a transaction waits 300 ms for a connection, then db_pool_wait_seconds counts it with at least that wait', async () => {
    const countBefore = await sample('db_pool_wait_seconds_count');
    const sumBefore = await sample('db_pool_wait_seconds_sum');
    const pool = holdPoolFull();
    await expect.poll(() => sample('db_pool_connections', '{state="busy"}')).toBe(2);
    const waiter = oneTransaction();
    await expect.poll(() => sample('db_pool_connections', '{state="waiting"}')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    pool.release();
    await Promise.all([pool.done, waiter]);
    expect(await sample('db_pool_wait_seconds_count')).toBe(countBefore + 3);
    // The two holders found idle connections at once; the third waited out the 300 ms.
    expect((await sample('db_pool_wait_seconds_sum')) - sumBefore).toBeGreaterThanOrEqual(0.3);
    expect(await sample('db_pool_wait_seconds_bucket', '{le="0.25"}')).toBeLessThan(countBefore + 3);
  });

  it('when a transaction waits until the pool gives up on it, then it fails as unavailable and its whole wait is counted', async () => {
    const impatient = t.sibling({ DEPENDENCY_TIMEOUT: '500ms' });
    try {
      const pool = holdPoolFull(impatient);
      await expect(oneTransaction(impatient)).rejects.toThrow(/unavailable/i);
      pool.release();
      await pool.done;
      expect(await sample('db_pool_wait_seconds_count', '', impatient)).toBe(3);
      expect(await sample('db_pool_wait_seconds_sum', '', impatient)).toBeGreaterThanOrEqual(0.5);
    } finally {
      await impatient.close();
    }
  });
});
