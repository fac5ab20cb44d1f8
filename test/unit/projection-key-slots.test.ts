import { randomUUID } from 'node:crypto';
import { Command, Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { ProjectionStore } from '../../src/orders/projection/projection-store.js';
import { ProjectionRepairStore } from '../../src/orders/projection/projection-repair-store.js';
import { connectTestRedis, waitForReady } from '../support/test-redis.js';
import { inject } from 'vitest';

// Every command the projection sends (each script, the lock, the repair's pipeline) is recorded as ioredis builds
// it, prefix included, and every key it names must hash to one slot: on a Redis Cluster a script or pipeline whose
// keys span slots fails with CROSSSLOT. In the cluster run the cluster itself confirms ioredis's slots.

const PREFIX = 'os:prod:';

/** A client that records what it would send and answers every command at once, never connecting. */
function recordingClient(): { client: Redis; sent: Command[] } {
  const client = new Redis({ lazyConnect: true, keyPrefix: PREFIX });
  const sent: Command[] = [];
  client.sendCommand = ((command: Command) => {
    sent.push(command);
    command.resolve(command.name === 'set' ? 'OK' : command.name === 'hscan' ? ['0', []] : [-1]);
    return command.promise;
  }) as Redis['sendCommand'];
  return { client, sent };
}

const slotOf = (key: string | Buffer) => new Command('exists', [key]).getSlot();

async function everyProjectionCommand(): Promise<Command[]> {
  const { client, sent } = recordingClient();
  const store = new ProjectionStore(client);
  const repair = new ProjectionRepairStore(client);
  const [userId, orderId] = [randomUUID(), randomUUID()];
  const created = { orderId, sequence: 4, userId, head: '{', tail: '}', createdAtMs: 1, serialNumber: 7 };
  await store.applyLine({ orderId, sequence: 2, userId, lineJson: '{}' });
  await store.applyCreated(created);
  await store.applyEnd(userId, orderId, 5);
  await store.readPage(userId, { limit: 10, offset: 0, order: 'asc' });
  const entries = Array.from({ length: 3 }, (_, i) => ({ orderId: randomUUID(), version: 4, serialNumber: i + 1, createdAtMs: i, json: i === 2 ? undefined : '{}' }));
  await store.writeRebuild(userId, entries, { markBuilt: true });
  await store.tryLock(userId, 'token', 5_000);
  await store.renewLock(userId, 'token', 5_000);
  await store.unlock(userId, 'token');
  await repair.readOrders(userId, entries.map((entry) => ({ orderId: entry.orderId, member: '7' }))).catch(() => undefined);
  for await (const docs of repair.scanDocs(userId)) void docs;
  await repair.repairListed({ orderId, userId, member: '7', score: '1', json: '{}', version: 4 }, '', '');
  await repair.repairUnlisted(userId, '7', '');
  return sent;
}

describe('hash slots of the projection\'s keys', () => {
  it('when each script, the lock and the repair pipeline of one user run, then every key they name is in that user\'s slot', async () => {
    const sent = await everyProjectionCommand();
    const keyed = sent.filter((command) => command.getKeys().length > 0);
    expect(keyed.length).toBeGreaterThanOrEqual(15);
    const slots = new Set(keyed.flatMap((command) => command.getKeys().map(slotOf)));
    expect(slots.size).toBe(1);
    // The scripts went out with their keys declared (EVALSHA ... numkeys key...), not built inside Lua.
    expect(keyed.filter((command) => command.name === 'evalsha').length).toBe(9);
    for (const key of keyed.flatMap((command) => command.getKeys())) expect(String(key)).toMatch(/^os:prod:proj:\{u:[0-9a-f-]{36}\}:/);
  });

  it('when the rate limiter counts a client, then its script names one key', async () => {
    const { client, sent } = recordingClient();
    const limiter = new RateLimiterRedis({ storeClient: client, points: 5, duration: 60, keyPrefix: 'ratelimit' });
    await limiter.consume('sub:someone').catch(() => undefined);
    const scripts = sent.filter((command) => command.name === 'evalsha');
    expect(scripts.map((command) => command.getKeys().map(String))).toEqual([['os:prod:ratelimit:sub:someone']]);
  });

  it.runIf(inject('redisClusterNodes'))('when the cluster is asked (CLUSTER KEYSLOT), then it agrees with ioredis on every key', async () => {
    const keys = [...new Set((await everyProjectionCommand()).flatMap((command) => command.getKeys().map(String)))];
    const redis = connectTestRedis();
    try {
      await waitForReady(redis);
      const node = (redis as unknown as { nodes(role: 'master'): Redis[] }).nodes('master')[0]!;
      for (const key of keys) expect(await node.cluster('KEYSLOT', key)).toBe(slotOf(key));
    } finally {
      redis.disconnect();
    }
  });
});
