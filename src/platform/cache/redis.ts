import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { isTracingActive } from '../observability/trace-context.js';

/** One Redis, or a Redis Cluster: the same commands, scripts and pipelines (keys of one slot) on both. */
export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  /** redis:// or rediss:// URL: the server, or, with clusterNodes, only the login and TLS for every node. */
  url: string;
  /** host:port seeds of a Redis Cluster (REDIS_CLUSTER_NODES); empty or absent: one Redis at `url`. */
  clusterNodes?: string[];
  timeoutMs: number;
  logger: Logger;
  keyPrefix?: string;
}

/** Reconnection backoff of the whole client: it never gives up (the service must come back), but waits up to 5 s. */
const reconnectDelay = (attempt: number) => Math.min(100 * 2 ** attempt, 5_000);

/**
 * A Redis client that fails fast instead of queueing: while Redis is down, commands reject at once (no offline
 * queue) so reads can fall back to PostgreSQL, and every command is bounded by timeoutMs. It keeps
 * reconnecting in the background with a capped backoff. Commands issued together are pipelined (one socket write).
 */
export function createRedis(settings: RedisSettings): RedisClient {
  const client = settings.clusterNodes?.length ? createCluster(settings, settings.clusterNodes) : createSingle(settings);
  reportAvailability(client, settings.logger);
  client.connect().catch(() => undefined);
  return client;
}

function createSingle(settings: RedisSettings): Redis {
  return new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: settings.timeoutMs,
    commandTimeout: settings.timeoutMs,
    retryStrategy: reconnectDelay,
    // Commands issued in one turn of the event loop leave in one write: the projector's scripts for a batch of
    // deliveries, concurrent reads. Each still gets its own reply or error, in order (bench/saga-capacity.ts).
    // Not while tracing: the batch is sent from a callback scheduled by its first command, so the ioredis
    // instrumentation would put every command's span in that first caller's trace (a projector's script in a
    // reader's trace, say). Tracing starts before this client is made (main.ts).
    enableAutoPipelining: !isTracingActive(),
    ...(settings.keyPrefix ? { keyPrefix: settings.keyPrefix } : {}),
  });
}

/**
 * The Cluster client. A command follows MOVED/ASK redirections and, while a master fails over, retries on the
 * new slot map every 100 ms, at most MAX_REDIRECTIONS times (about 0.6 s), then fails so that a read falls
 * back to PostgreSQL and a projector event is retried by its consumer. Reads go to masters (scaleReads
 * 'master'): a replica can lag behind its master, and the projection's reads must see what its scripts wrote
 * (a rebuild writes, then the reader answers from Redis).
 */
function createCluster(settings: RedisSettings, nodes: string[]): Cluster {
  return new Cluster(nodes.map(parseNode), {
    lazyConnect: true,
    enableOfflineQueue: false,
    scaleReads: 'master',
    // No auto-pipelining here (unlike a single Redis): ioredis groups a turn's commands by the nodes of their slots
    // when they are issued and checks that grouping again when the pipeline is sent; a slot map refreshed in between
    // (a failover) fails the whole batch ("same slots allocation group"), as the failover fault step saw in the
    // projection rebuild.
    maxRedirections: MAX_REDIRECTIONS,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: settings.timeoutMs,
    clusterRetryStrategy: reconnectDelay,
    ...(settings.keyPrefix ? { keyPrefix: settings.keyPrefix } : {}),
    redisOptions: { ...loginOf(settings.url), maxRetriesPerRequest: 1, connectTimeout: settings.timeoutMs, commandTimeout: settings.timeoutMs },
  });
}

const MAX_REDIRECTIONS = 6;

/** "host:port" (an IPv6 address in brackets: "[::1]:7000"). */
export function parseNode(text: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** What of REDIS_URL still counts on a cluster: the user, the password, TLS. */
function loginOf(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** One warning when Redis (or a cluster node) goes away, one line when the client is ready again. */
function reportAvailability(client: RedisClient, logger: Logger): void {
  let reported = false;
  const down = (error: Error) => {
    if (!reported) logger.warn('redis unavailable', { error: error.message });
    reported = true;
  };
  client.on('error', down);
  client.on('node error', down);
  client.on('ready', () => {
    if (reported) logger.info('redis reconnected');
    reported = false;
  });
}

/** The masters to scan: SCAN walks one server's key space, and each master of a cluster holds its own slots. */
export function mastersOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
