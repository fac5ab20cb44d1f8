import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The projection suite and what else reads or writes Redis (the per-user list through the API, the rate limiter,
// /readyz), again, with every test service on a 3-master Redis Cluster that test/redis-cluster-setup.ts starts
// (REDIS_CLUSTER_NODES), and the proof that every script's keys hash to one slot. `npm test` runs it after the
// PgBouncer run.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/projection/**/*.test.ts',
      'test/auth/rate-limit.test.ts',
      'test/auth/order-ownership.test.ts',
      'test/http/operational-routes.test.ts',
      'test/unit/projection-key-slots.test.ts',
    ],
    globalSetup: ['test/global-setup.ts', 'test/redis-cluster-setup.ts'],
  },
});
