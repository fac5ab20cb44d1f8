import { defineConfig } from 'vitest/config';

// Integration tests talk to the real PostgreSQL, Redis and RabbitMQ. Each test file gets its own database
// (cloned from a migrated template), RabbitMQ vhost and Redis key prefix, so files run in parallel safely.
// The timeouts only stop a hung test; no test passes or fails on speed.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    // The guard first, before any test loads amqplib (src/platform/messaging/amqp-header-guard.ts).
    setupFiles: ['src/platform/messaging/amqp-header-guard.ts', 'reflect-metadata'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
