import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Cluster, Redis } from 'ioredis';
import { parseNode, type RedisClient } from '../../../src/platform/cache/redis.js';
import { deleteKeys, waitForReady } from '../../support/test-redis.js';
import { inject } from 'vitest';
import { ensureDatabase, migrate } from '../../../src/platform/database/migrate.js';
import { createTestVhost } from '../../support/rabbitmq.js';
import { TestIdentityProvider } from '../../support/identity-provider.js';
import type { ServiceSettings } from './service-processes.js';
import { useBearerToken } from './http-client.js';

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * What one fault step owns: a database, a vhost, a Redis key prefix, a log directory, and an identity service
 * whose admin token every request of the step carries. cleanup() removes all.
 */
export interface FaultEnvironment {
  settings: ServiceSettings;
  databaseName: string;
  /** For the checks; its idle connections may be terminated by an outage, which it survives. */
  pool: pg.Pool;
  /** A client with the step's key prefix (of the step's Redis Cluster, when it has one). */
  redis: RedisClient;
  logDir: string;
  cleanup(keepLogs: boolean): Promise<void>;
}

/** Where a step's vhost lives when not on the machine's broker (a cluster the step started), and its settings. */
export interface StepBroker {
  createVhost(): Promise<{ name: string; url: string; delete(): Promise<void> }>;
  /** Given to every service process and the simulator. */
  env: Record<string, string>;
  /** How the capture queue is declared (a quorum queue on a cluster, so that it outlives a node). */
  captureQueue: import('amqplib').Options.AssertQueue;
  stop(): Promise<void>;
}

/** `broker`: the step's own broker; `clusterSeeds`: the step runs its services on this Redis Cluster instead of the machine's Redis. */
export async function createFaultEnvironment(step: string, sagaTimeout: string, broker?: StepBroker, clusterSeeds: string[] = []): Promise<FaultEnvironment> {
  const databaseName = `os_test_${inject('testRunId')}_faults_${step}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = `${SERVER_URL}/${databaseName}`;
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  const vhost = broker ? await broker.createVhost() : await createTestVhost();
  const redisPrefix = `os_faults:${step}:${randomBytes(4).toString('hex')}:`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  pool.on('error', () => undefined);
  const redis = connectRedis(clusterSeeds, redisPrefix);
  await waitForReady(redis);
  const logDir = mkdtempSync(path.join(os.tmpdir(), `order-faults-${step}-`));
  const identity = await TestIdentityProvider.start();
  // Every scope, for as long as any step could last.
  useBearerToken(await identity.token(randomUUID(), { scope: 'orders:read orders:write orders:admin catalog:write customers:write', ttlSeconds: 6 * 3600 }));
  return {
    settings: { databaseUrl, amqpUrl: vhost.url, redisUrl: REDIS_URL, redisClusterNodes: clusterSeeds.join(','), redisPrefix, sagaTimeout, auth: identity.authEnv(), brokerEnv: broker?.env ?? {} },
    databaseName,
    pool,
    redis,
    logDir,
    async cleanup(keepLogs) {
      const problems: string[] = [];
      const attempt = (what: string, work: () => Promise<unknown>) => work().catch((error) => problems.push(`${what}: ${String(error)}`));
      await attempt('redis keys', () => deletePrefixedKeys(clusterSeeds, redisPrefix));
      redis.disconnect();
      await attempt('pool', () => pool.end());
      await attempt('vhost', () => vhost.delete());
      await attempt('database', () => dropDatabase(databaseName));
      await attempt('identity service', () => identity.close());
      useBearerToken(undefined);
      if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
      if (problems.length > 0) console.warn(`[faults] cleanup of ${step} incomplete: ${problems.join('; ')}`);
    },
  };
}

/** The machine's Redis, or the step's cluster; the checks' client never waits long on a node that is down. */
function connectRedis(clusterSeeds: string[], keyPrefix?: string): RedisClient {
  const prefix = keyPrefix ? { keyPrefix } : {};
  const redis = clusterSeeds.length > 0
    ? new Cluster(clusterSeeds.map(parseNode), { ...prefix, redisOptions: { maxRetriesPerRequest: 1, commandTimeout: 2_000 } })
    : new Redis(REDIS_URL, { ...prefix, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  return redis;
}

/** SCAN for the prefix on every master (never KEYS, never FLUSHALL: other users of this Redis keep their keys). */
async function deletePrefixedKeys(clusterSeeds: string[], prefix: string): Promise<void> {
  const redis = connectRedis(clusterSeeds);
  try {
    await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** An admin connection to the server's `postgres` database (terminating backends, dropping). */
export async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Ports the kernel just handed out, closed again for the service processes to take. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address === 'object' && address && !ports.includes(address.port)) ports.push(address.port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return ports;
}
