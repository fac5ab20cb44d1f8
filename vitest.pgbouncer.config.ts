import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The contract suite again, with every test service's DATABASE_URL pointing at a PgBouncer in transaction pooling
// mode (DATABASE_POOL_MODE=transaction) and LISTEN on a direct connection (DATABASE_LISTEN_URL): the HTTP routes,
// the outbox relay and its wake-up, and the saga, as docs/contract.md describes them. `make test` runs it after
// the main suite.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/http/**/*.test.ts',
      'test/orders/**/*.test.ts',
      'test/relay/relay-contract.test.ts',
      'test/relay/relay-ordering.test.ts',
      'test/relay/wakeup.test.ts',
      'test/saga/saga-replies.test.ts',
      'test/saga/saga-timeout.test.ts',
      'test/projection/projection-events.test.ts',
    ],
    globalSetup: ['test/global-setup.ts', 'test/pgbouncer-setup.ts'],
  },
});
