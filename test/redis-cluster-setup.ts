import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './support/redis-cluster.js';
import './support/test-redis.js';

/**
 * For vitest.redis-cluster.config.ts: one 3-master Redis Cluster for the run (no replicas: the projection's scripts
 * and reads are what is under test, not failover), on loopback ports, stopped and removed at the end.
 */
export default async function setup(project: TestProject) {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 2_000 });
  project.provide('redisClusterNodes', cluster.seeds.join(','));
  console.log(`Redis Cluster of ${cluster.nodes.length} masters on ${cluster.seeds.join(', ')}`);
  return () => cluster.stop();
}
