import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import { mastersOf, type RedisClient } from '../../platform/cache/redis.js';
import { KEY_PATTERN, OLD_LAYOUT_PATTERNS, parseProjectionKey, projectionKeys as keys } from './projection-keys.js';
import { REPAIR_LISTED_SCRIPT, REPAIR_UNLISTED_SCRIPT } from './projection-scripts.js';

/** What Redis holds for one user: member -> document, and per order the fingerprint of its hash. */
export interface StoredUserState {
  docs: Map<string, string>;
  /** `tomb|v|member|vis|field count` of each asked order's hash: compared, never parsed, by the repair script. */
  orders: Map<string, string>;
}

export type RepairStatus = 'repaired' | 'changed';

/** A key of the projection found by a scan: its name (without the client's prefix), its user, its order if any. */
export interface FoundKey {
  name: string;
  userId: string;
  orderId?: string;
}

interface RepairCommands {
  projectionRepairListed(...args: string[]): Promise<RepairStatus>;
  projectionRepairUnlisted(...args: string[]): Promise<RepairStatus>;
}

const SCAN_COUNT = 500;

/**
 * The Redis side of the projection's repair (see projection-repair.ts): reads a user's state as it is, rewrites what
 * PostgreSQL contradicts, and finds the keys of orders and users that PostgreSQL does not have. Only the rebuild
 * command uses it: it reads whole lists and scans the key space, which no request path may do.
 */
@injectable()
export class ProjectionRepairStore {
  constructor(@inject(TOKENS.Redis) private readonly redis: RedisClient) {
    redis.defineCommand('projectionRepairListed', { numberOfKeys: 3, lua: REPAIR_LISTED_SCRIPT });
    redis.defineCommand('projectionRepairUnlisted', { numberOfKeys: 2, lua: REPAIR_UNLISTED_SCRIPT });
  }

  /** One pipeline: every key it reads carries the user's hash tag, so on a cluster it goes to one node. */
  async readUser(userId: string, orderIds: string[]): Promise<StoredUserState> {
    const pipeline = this.redis.pipeline().hgetall(keys.userDocs(userId));
    for (const orderId of orderIds) pipeline.hmget(keys.order(userId, orderId), 'tomb', 'v', 'member', 'vis').hlen(keys.order(userId, orderId));
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0];
    const docs = new Map(Object.entries(replies[0]![1] as Record<string, string>));
    const orders = new Map<string, string>();
    orderIds.forEach((orderId, index) => {
      const fields = replies[1 + index * 2]![1] as (string | null)[];
      const count = replies[2 + index * 2]![1] as number;
      orders.set(orderId, `${fields.map((field) => field ?? '').join('|')}|${count}`);
    });
    return { docs, orders };
  }

  repairListed(entry: { orderId: string; userId: string; member: string; score: string; json: string; version: number }, readState: string, readDoc: string): Promise<RepairStatus> {
    const { orderId, userId, member } = entry;
    return this.commands.projectionRepairListed(keys.order(userId, orderId), keys.userIndex(userId), keys.userDocs(userId), userId, member, entry.score, entry.json, String(entry.version), readState, readDoc);
  }

  repairUnlisted(userId: string, member: string, readDoc: string): Promise<RepairStatus> {
    return this.commands.projectionRepairUnlisted(keys.userIndex(userId), keys.userDocs(userId), member, readDoc);
  }

  /** The projection's keys, a page at a time, from every master (each holds its own slots). */
  async *scanKeys(): AsyncGenerator<FoundKey[]> {
    for await (const names of this.scan(KEY_PATTERN)) {
      const found = names.flatMap((name) => {
        const key = parseProjectionKey(name);
        return key ? [{ name, ...key }] : [];
      });
      if (found.length > 0) yield found;
    }
  }

  /** Deletes keys of one user in one command: they share the user's hash tag, so one slot. */
  async deleteUserKeys(names: string[]): Promise<number> {
    return names.length === 0 ? 0 : this.redis.del(...names);
  }

  /** Deletes the keys of the layout before the hash tags (which nothing reads any more), one at a time. */
  async deleteOldLayout(): Promise<number> {
    let deleted = 0;
    for (const pattern of OLD_LAYOUT_PATTERNS) {
      for await (const names of this.scan(pattern)) {
        // Old keys of different users are in different slots: no multi-key command spans them.
        const counts = await Promise.all(names.map((name) => this.redis.unlink(name)));
        deleted += counts.reduce((sum, count) => sum + count, 0);
      }
    }
    return deleted;
  }

  /** Key names (without the client's prefix) matching the pattern, a page at a time, on every master. */
  private async *scan(pattern: string): AsyncGenerator<string[]> {
    // SCAN's MATCH sees whole key names: ioredis adds the prefix to commands' keys, not to patterns.
    const prefix = this.redis.options.keyPrefix ?? '';
    for (const master of mastersOf(this.redis)) {
      let cursor = '0';
      do {
        const [next, found] = await master.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (found.length > 0) yield found.map((key) => key.slice(prefix.length));
      } while (cursor !== '0');
    }
  }

  private get commands(): RepairCommands {
    return this.redis as unknown as RepairCommands;
  }
}
