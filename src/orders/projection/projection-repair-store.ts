import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import { mastersOf, type RedisClient } from '../../platform/cache/redis.js';
import { KEY_PATTERN, OLD_LAYOUT_PATTERNS, parseProjectionKey, projectionKeys as keys } from './projection-keys.js';
import { REPAIR_LISTED_SCRIPT, REPAIR_UNLISTED_SCRIPT } from './projection-scripts.js';

/** What Redis holds for one order of a user: its hash's fingerprint, and its member's document ('' if none). */
export interface StoredOrderState {
  /** `tomb|v|member|vis|field count` of the order's hash: compared, never parsed, by the repair script. */
  state: string;
  doc: string;
}

/** An order as the repair asks Redis for it: the member is the one its serial number gives (never Redis's own). */
export interface OrderToRead {
  orderId: string;
  member: string;
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
/** Documents per HSCAN call: a few MB at most (an order of 100 products is about 20 KB of JSON). */
const DOCS_SCAN_COUNT = 100;

/**
 * The Redis side of the projection's repair (see projection-repair.ts): reads a user's state as it is, rewrites what
 * PostgreSQL contradicts, and finds the keys of orders and users that PostgreSQL does not have. Only the rebuild
 * command uses it: it scans whole lists (a batch at a time) and the key space, which no request path may do.
 */
@injectable()
export class ProjectionRepairStore {
  constructor(@inject(TOKENS.Redis) private readonly redis: RedisClient) {
    redis.defineCommand('projectionRepairListed', { numberOfKeys: 3, lua: REPAIR_LISTED_SCRIPT });
    redis.defineCommand('projectionRepairUnlisted', { numberOfKeys: 2, lua: REPAIR_UNLISTED_SCRIPT });
  }

  /** One pipeline: every key it reads carries the user's hash tag, so on a cluster it goes to one node. */
  async readOrders(userId: string, orders: OrderToRead[]): Promise<Map<string, StoredOrderState>> {
    const pipeline = this.redis.pipeline();
    for (const { orderId, member } of orders) {
      pipeline.hmget(keys.order(userId, orderId), 'tomb', 'v', 'member', 'vis').hlen(keys.order(userId, orderId)).hget(keys.userDocs(userId), member);
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0];
    const stored = new Map<string, StoredOrderState>();
    orders.forEach(({ orderId }, index) => {
      const [fields, count, doc] = replies.slice(index * 3, index * 3 + 3).map(([, reply]) => reply) as [(string | null)[], number, string | null];
      stored.set(orderId, { state: `${fields.map((field) => field ?? '').join('|')}|${count}`, doc: doc ?? '' });
    });
    return stored;
  }

  /** The user's documents (member -> JSON), a batch at a time (HSCAN: a user's whole list is never held at once). */
  async *scanDocs(userId: string): AsyncGenerator<Map<string, string>> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(keys.userDocs(userId), cursor, 'COUNT', DOCS_SCAN_COUNT);
      cursor = next;
      const docs = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) docs.set(flat[i]!, flat[i + 1]!);
      if (docs.size > 0) yield docs;
    } while (cursor !== '0');
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
