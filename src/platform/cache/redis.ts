import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/**
 * A Redis client that fails fast instead of queueing: while Redis is down, commands reject at once (no offline
 * queue) so reads can fall back to PostgreSQL, and every command is bounded by timeoutMs. It keeps
 * reconnecting in the background with a capped backoff. Commands issued together are pipelined (one socket write).
 */
export function createRedis(url: string, options: { timeoutMs: number; logger: Logger; keyPrefix?: string }): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.timeoutMs,
    commandTimeout: options.timeoutMs,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 5_000),
    // Commands issued in one turn of the event loop leave in one write: the projector's scripts for a batch of
    // deliveries, concurrent reads. Each still gets its own reply or error, in order (bench/saga-capacity.ts).
    enableAutoPipelining: true,
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
  });
  let reported = false;
  redis.on('error', (error: Error) => {
    if (!reported) options.logger.warn('redis unavailable', { error: error.message });
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) options.logger.info('redis reconnected');
    reported = false;
  });
  redis.connect().catch(() => undefined);
  return redis;
}
