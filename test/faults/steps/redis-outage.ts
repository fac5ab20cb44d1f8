import { setTimeout as sleep } from 'node:timers/promises';
import { answeredAsExpected, countsSince, formatStatuses } from '../support/load.js';
import { ensureRedis, stopRedis } from '../support/outages.js';
import { ReadProbe } from '../support/reads.js';
import type { StepDefinition } from '../support/step-harness.js';

const OUTAGE_MS = 15_000;

/**
 * Redis outage: Redis shut down without saving during the load, then started again empty. Meanwhile reads of
 * /orders/user/:userID keep answering 200 with exactly the database's list (the degraded path); afterwards
 * the reads rebuild each user's projection and the projector catches up, and the end checks compare Redis
 * itself with the database.
 */
export const redisOutageStep: StepDefinition = {
  name: 'redis-outage',
  rate: Number(process.env.FAULTS_OUTAGE_RATE ?? 100),
  total: Number(process.env.FAULTS_REDIS_ORDERS ?? 4_000),
  users: 100,
  readFirst: true,
  async fault(ctx) {
    const reads = new ReadProbe(ctx.livePorts, ctx.catalog.users.map((user) => user.id), ctx.env.pool, 3, 50);
    reads.start();
    try {
      await sleep(10_000);
      const before = new Map(ctx.load.stats.byStatus);
      ctx.log('redis-cli shutdown nosave');
      await stopRedis();
      const stopped = Date.now();
      reads.compareWithDatabase = true;
      await sleep(OUTAGE_MS);
      reads.compareWithDatabase = false;
      await ensureRedis();
      ctx.log('Redis started (empty)');
      const during = countsSince(ctx.load.stats.byStatus, before);
      ctx.notes.push(`Redis down ${((Date.now() - stopped) / 1000).toFixed(1)} s; order answers meanwhile ${formatStatuses(during)}`);
      if (!answeredAsExpected(during, '204')) ctx.problems.push(`writes during the Redis outage answered ${formatStatuses(during)}`);
      await sleep(5_000);
    } finally {
      reads.compareWithDatabase = false;
      await ensureRedis();
      await reads.stop();
    }
    const { stats } = reads;
    ctx.notes.push(`reads during the step: ${stats.reads}, answers ${formatStatuses(stats.byStatus)}; ${stats.compared} degraded reads compared with PostgreSQL, ${stats.mismatches.length} differed`);
    if (!answeredAsExpected(stats.byStatus, '200')) ctx.problems.push(`reads answered ${formatStatuses(stats.byStatus)}`);
    if (stats.compared === 0) ctx.problems.push('no read during the Redis outage could be compared with PostgreSQL');
    ctx.problems.push(...stats.mismatches);
  },
};
