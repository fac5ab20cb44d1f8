import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { ListParams } from '../../kernel/schemas.js';
import type { RedisClient } from '../../platform/cache/redis.js';
import { orderMember, projectionKeys as keys } from './projection-keys.js';
import { APPLY_SCRIPT, END_SCRIPT, READ_SCRIPT, REBUILD_SCRIPT, UNLOCK_SCRIPT } from './projection-scripts.js';

/** What a script did with an event; the last two mean the event itself is wrong (see the projector). */
export type ApplyStatus = 'applied' | 'duplicate' | 'ignored' | 'invalid_sequence' | 'user_mismatch';

/** One product line of an order, as OrderAddProduct (sequence 2..S-1) brings it. */
export interface LineEvent {
  orderId: string;
  sequence: number;
  userId: string;
  /** The line's JSON in the products array of the Order JSON. */
  lineJson: string;
}

/** OrderCreated (sequence S): everything of the Order JSON but its products. */
export interface CreatedEvent {
  orderId: string;
  sequence: number;
  userId: string;
  /** The Order JSON up to and including `"products":[`, and from `]` to the end. */
  head: string;
  tail: string;
  createdAtMs: number;
  serialNumber: number;
}

/** An order as a rebuild writes it: listed with its JSON, or ended (deleted) with no JSON. */
export interface RebuildEntry {
  orderId: string;
  /** orders.last_event_sequence: every event up to it is in the snapshot. */
  version: number;
  serialNumber: number | bigint;
  createdAtMs: number;
  json: string | undefined;
}

export interface StoredPage {
  total: number;
  /** The page's orders as JSON (UTF-8 bytes, as Redis holds them), in page order. */
  docs: Buffer[];
}

interface ProjectionCommands {
  projectionApply(...args: (string | number)[]): Promise<ApplyStatus>;
  projectionEnd(...args: (string | number)[]): Promise<ApplyStatus>;
  projectionRebuild(numberOfKeys: number, ...args: (string | number)[]): Promise<number>;
  /** ioredis's Buffer variant of the read script: bulk replies stay bytes, never decoded to strings. */
  projectionReadBuffer(...args: (string | number)[]): Promise<(number | Buffer)[]>;
  projectionUnlock(...args: string[]): Promise<number>;
}

const defined = new WeakSet<RedisClient>();

/** Registers the scripts once per client; ioredis then sends EVALSHA and falls back to EVAL after a SCRIPT FLUSH. */
function commands(redis: RedisClient): ProjectionCommands {
  if (!defined.has(redis)) {
    redis.defineCommand('projectionApply', { numberOfKeys: 3, lua: APPLY_SCRIPT });
    redis.defineCommand('projectionEnd', { numberOfKeys: 3, lua: END_SCRIPT });
    redis.defineCommand('projectionRebuild', { lua: REBUILD_SCRIPT });
    redis.defineCommand('projectionRead', { numberOfKeys: 3, lua: READ_SCRIPT });
    redis.defineCommand('projectionUnlock', { numberOfKeys: 1, lua: UNLOCK_SCRIPT });
    defined.add(redis);
  }
  return redis as unknown as ProjectionCommands;
}

/** A user's orders above this count are written in several script calls, so no single call blocks Redis for long. */
const REBUILD_CHUNK = 1000;

/** The Redis side of the projection: one script call (one round trip) per event, per page read, per rebuild chunk. */
@injectable()
export class ProjectionStore {
  constructor(@inject(TOKENS.Redis) private readonly redis: RedisClient) {}

  /** Defined on first use, so that building the service's handlers does not need a Redis client yet. */
  private get scripts(): ProjectionCommands {
    return commands(this.redis);
  }

  applyLine(event: LineEvent): Promise<ApplyStatus> {
    const { orderId, sequence, userId } = event;
    return this.scripts.projectionApply(keys.order(userId, orderId), keys.userIndex(userId), keys.userDocs(userId), 'line', sequence, userId, event.lineJson);
  }

  applyCreated(event: CreatedEvent): Promise<ApplyStatus> {
    const { orderId, sequence, userId } = event;
    const score = String(event.createdAtMs);
    const member = orderMember(event.serialNumber);
    return this.scripts.projectionApply(keys.order(userId, orderId), keys.userIndex(userId), keys.userDocs(userId), 'created', sequence, userId, event.head, event.tail, score, member);
  }

  /** OrderDeleted / OrderCanceled of an order of this user (the events carry no user: the projector looks it up). */
  applyEnd(userId: string, orderId: string, sequence: number): Promise<ApplyStatus> {
    return this.scripts.projectionEnd(keys.order(userId, orderId), keys.userIndex(userId), keys.userDocs(userId), sequence);
  }

  /** The page, or undefined when the user's projection is not built (never built, or Redis lost it). */
  async readPage(userId: string, params: ListParams): Promise<StoredPage | undefined> {
    const reply = await this.scripts.projectionReadBuffer(keys.userBuilt(userId), keys.userIndex(userId), keys.userDocs(userId), params.offset, params.limit, params.order);
    const [total, ...docs] = reply;
    if (total === -1) return undefined;
    return { total: Number(total), docs: docs as Buffer[] };
  }

  /** Merges a snapshot of the user's orders and then marks the user built (see REBUILD_SCRIPT). */
  async writeRebuild(userId: string, entries: RebuildEntry[]): Promise<void> {
    for (let start = 0; start === 0 || start < entries.length; start += REBUILD_CHUNK) {
      const chunk = entries.slice(start, start + REBUILD_CHUNK);
      const last = start + REBUILD_CHUNK >= entries.length;
      const orderKeys = chunk.map((entry) => keys.order(userId, entry.orderId));
      const args = chunk.flatMap((entry) => [entry.version, orderMember(entry.serialNumber), String(entry.createdAtMs), entry.json ?? '']);
      await this.scripts.projectionRebuild(3 + chunk.length, keys.userIndex(userId), keys.userDocs(userId), keys.userBuilt(userId), ...orderKeys, userId, last ? '1' : '0', ...args);
    }
  }

  /** True if this caller may rebuild the user now; the lock expires by itself if the caller dies. */
  async tryLock(userId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(keys.userLock(userId), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(userId: string, token: string): Promise<void> {
    await this.scripts.projectionUnlock(keys.userLock(userId), token);
  }
}
