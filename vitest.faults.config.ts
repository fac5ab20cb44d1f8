import { defineConfig } from 'vitest/config';

// `make faults`: the slow fault and fuzz suites against the real PostgreSQL, Redis and RabbitMQ, with the same
// per-file isolation as vitest.config.ts. FUZZ_RUNS is the number of generated requests (or replies, scaled)
// per fuzz file; `make test` runs the fuzz files with their small default.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
    exclude: ['node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    // The guard first, before any test loads amqplib (src/platform/messaging/amqp-header-guard.ts).
    setupFiles: ['src/platform/messaging/amqp-header-guard.ts', 'reflect-metadata'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    env: { FUZZ_RUNS: process.env.FUZZ_RUNS ?? '10000' },
  },
});
