import { inject, injectable } from 'tsyringe';
import type { Redis } from 'ioredis';
import { TOKENS } from '../../tokens.js';
import { projectionKeys as keys } from './projection-keys.js';
import { REPAIR_LISTED_SCRIPT, REPAIR_UNLISTED_SCRIPT } from './projection-scripts.js';

/** What Redis holds for one user: member -> document, and per order the fingerprint of its hash. */
export interface StoredUserState {
  docs: Map<string, string>;
  /** `tomb|v|member|vis|field count` of each asked order's hash: compared, never parsed, by the repair script. */
  orders: Map<string, string>;
}

export type RepairStatus = 'repaired' | 'changed';

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
  constructor(@inject(TOKENS.Redis) private readonly redis: Redis) {
    redis.defineCommand('projectionRepairListed', { numberOfKeys: 3, lua: REPAIR_LISTED_SCRIPT });
    redis.defineCommand('projectionRepairUnlisted', { numberOfKeys: 2, lua: REPAIR_UNLISTED_SCRIPT });
  }

  async readUser(userId: string, orderIds: string[]): Promise<StoredUserState> {
    const pipeline = this.redis.pipeline().hgetall(keys.userDocs(userId));
    for (const orderId of orderIds) pipeline.hmget(keys.order(orderId), 'tomb', 'v', 'member', 'vis').hlen(keys.order(orderId));
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
    return this.commands.projectionRepairListed(keys.order(orderId), keys.userIndex(userId), keys.userDocs(userId), userId, member, entry.score, entry.json, String(entry.version), readState, readDoc);
  }

  repairUnlisted(userId: string, member: string, readDoc: string): Promise<RepairStatus> {
    return this.commands.projectionRepairUnlisted(keys.userIndex(userId), keys.userDocs(userId), member, readDoc);
  }

  /** The ids in the projection's order keys and user keys, a page of the key space at a time. */
  async *scanIds(kind: 'order' | 'user'): AsyncGenerator<string[]> {
    const prefix = this.redis.options.keyPrefix ?? '';
    const pattern = kind === 'order' ? /^proj:order:([^:]+)$/ : /^proj:user:([^:]+):(index|docs|built|lock)$/;
    let cursor = '0';
    do {
      // SCAN's MATCH sees whole key names: ioredis adds the prefix to commands' keys, not to patterns.
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${prefix}proj:${kind}:*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      const ids = found.map((key) => pattern.exec(key.slice(prefix.length))?.[1]).filter((id): id is string => id !== undefined);
      if (ids.length > 0) yield [...new Set(ids)];
    } while (cursor !== '0');
  }

  async deleteOrders(orderIds: string[]): Promise<number> {
    return orderIds.length === 0 ? 0 : this.redis.del(...orderIds.map(keys.order));
  }

  async deleteUsers(userIds: string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    return this.redis.del(...userIds.flatMap((id) => [keys.userIndex(id), keys.userDocs(id), keys.userBuilt(id), keys.userLock(id)]));
  }

  private get commands(): RepairCommands {
    return this.redis as unknown as RepairCommands;
  }
}
