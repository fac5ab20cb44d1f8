import '../platform/messaging/amqp-header-guard.js'; // before anything loads amqplib
// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { once } from 'node:events';
import { ConfigError, loadConfig } from '../config.js';
import { composeService } from '../composition/service.js';
import { TOKENS } from '../tokens.js';
import { createLogger } from '../platform/observability/logger.js';
import { withTimeout } from '../platform/with-timeout.js';
import type { RedisClient } from '../platform/cache/redis.js';
import type { ProjectionRebuild, RebuildProgress } from '../orders/projection/projection-rebuild.js';
import type { ProjectionRepair } from '../orders/projection/projection-repair.js';

const USAGE = `usage: npm run projections -- <command>
  rebuild   rebuild every user's order list in Redis from PostgreSQL, repair what PostgreSQL contradicts, delete
            the keys of orders and users PostgreSQL does not have and the keys of the layout before the hash
            tags (safe while the service runs)`;

/** `npm run projections -- rebuild`: a progress bar on stderr, one summary line on stdout. */
async function main(command: string | undefined): Promise<number> {
  if (command !== 'rebuild') {
    console.error(USAGE);
    return 2;
  }
  // The service's parts, on its settings; no role runs (nothing consumes or listens).
  const service = composeService({ ...loadConfig(), DATABASE_POOL_SIZE: 8 }, { logger: createLogger({ level: 'warn' }), defaultMetrics: false });
  try {
    await whenReady(service.redis, service.config.DEPENDENCY_TIMEOUT);
    const started = performance.now();
    const bar = progressBar(started);
    const repair = service.resolve<ProjectionRepair>(TOKENS.ProjectionRepair);
    const result = await service.resolve<ProjectionRebuild>(TOKENS.ProjectionRebuild).rebuildAll({ onProgress: bar.draw, repair });
    bar.end();
    const removed = await repair.removeOrphans();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `projections rebuilt: users=${result.users} orders=${result.orders} repaired=${result.repaired} orphan_keys_deleted=${removed.orphans} ` +
        `old_layout_keys_deleted=${removed.oldLayout} seconds=${seconds.toFixed(2)}`,
    );
    return 0;
  } finally {
    await service.close();
  }
}

/** The client has no offline queue: commands sent before it is connected would fail instead of waiting. */
async function whenReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await withTimeout(once(redis, 'ready'), timeoutMs, 'connecting to Redis (REDIS_URL, REDIS_CLUSTER_NODES)');
}

/** Redraws one line on a terminal; in a log (not a TTY) prints a line every 10%. */
function progressBar(started: number) {
  const width = 30;
  let lastDecile = -1;
  const line = (p: RebuildProgress) => {
    const fraction = p.totalUsers === 0 ? 1 : p.users / p.totalUsers;
    const filled = Math.round(fraction * width);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${p.users}/${p.totalUsers} users  ${p.orders} orders  ${seconds} s`;
  };
  return {
    draw(p: RebuildProgress) {
      if (process.stderr.isTTY) {
        process.stderr.write(`\r${line(p)}`);
        return;
      }
      const decile = p.totalUsers === 0 ? 10 : Math.floor((p.users / p.totalUsers) * 10);
      if (decile > lastDecile) process.stderr.write(`${line(p)}\n`);
      lastDecile = decile;
    },
    end() {
      if (process.stderr.isTTY) process.stderr.write('\n');
    },
  };
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof ConfigError ? error.message : `projections ${process.argv[2]} failed: ${String(error)}`);
    process.exit(1);
  },
);
