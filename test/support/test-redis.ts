import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';
import { mastersOf, parseNode, type RedisClient } from '../../src/platform/cache/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/redis-cluster-setup.ts only: the seeds of the Redis Cluster the test services use instead of one Redis. */
    redisClusterNodes: string | undefined;
  }
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The settings that point a test service at the run's Redis: the one Redis, or the cluster of the cluster run. */
export function testRedisSettings(): Record<string, string> {
  const nodes = inject('redisClusterNodes');
  return { REDIS_URL: TEST_REDIS_URL, ...(nodes ? { REDIS_CLUSTER_NODES: nodes } : {}) };
}

/** Settings of a Redis that does not answer (nothing listens on port 1), as one Redis or as a cluster's seed. */
export function unreachableRedisSettings(): Record<string, string> {
  return { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CLUSTER_NODES: inject('redisClusterNodes') ? '127.0.0.1:1' : '' };
}

/** A plain client of the run's Redis (or cluster), for tests that look at keys; without a key prefix unless given. */
export function connectTestRedis(keyPrefix?: string): RedisClient {
  const nodes = inject('redisClusterNodes');
  const prefix = keyPrefix ? { keyPrefix } : {};
  if (!nodes) return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, ...prefix });
  return new Cluster(nodes.split(',').map(parseNode), { ...prefix, redisOptions: { maxRetriesPerRequest: 1 } });
}

/** Deletes every key of the run's Redis (or cluster) whose full name starts with the prefix. */
export async function deleteKeysWithPrefix(prefix: string): Promise<number> {
  const redis = connectTestRedis();
  try {
    return await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/**
 * Deletes every key whose full name starts with the prefix, on every master (SCAN, never KEYS or FLUSHALL: other
 * test files share the server). One key per command: on a cluster, keys of different users are in different slots.
 * The client must have no key prefix of its own (it would be added to the names SCAN returns).
 */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<number> {
  await waitForReady(redis);
  let deleted = 0;
  for (const master of mastersOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await master.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
      deleted += counts.reduce((sum, count) => sum + count, 0);
    } while (cursor !== '0');
  }
  return deleted;
}

/** A cluster client knows its masters only once it has read the slot map. */
export async function waitForReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis not ready within 10 s')), 10_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
