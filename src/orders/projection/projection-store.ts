import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { ListParams } from '../../kernel/schemas.js';
import type { RedisClient } from '../../platform/cache/redis.js';
import { orderMember, projectionKeys as keys } from './projection-keys.js';
import { APPLY_SCRIPT, END_SCRIPT, READ_SCRIPT, REBUILD_SCRIPT, RENEW_LOCK_SCRIPT, UNLOCK_SCRIPT } from './projection-scripts.js';

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
  projectionRenewLock(...args: (string | number)[]): Promise<number>;
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
    redis.defineCommand('projectionRenewLock', { numberOfKeys: 1, lua: RENEW_LOCK_SCRIPT });
    defined.add(redis);
  }
  return redis as unknown as ProjectionCommands;
}

/**
 * A rebuild writes at most this many orders, and about this many bytes of their JSON, per script call: a script
 * blocks Redis while it runs, and its arguments are held whole by the client and by Redis.
 */
export const REBUILD_CHUNK = { orders: 1000, bytes: 1024 * 1024 };

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

  /**
   * Merges some of the user's orders, as PostgreSQL had them, into the projection (see REBUILD_SCRIPT), in chunks of
   * REBUILD_CHUNK. `markBuilt`: these are the last, so the user is marked built with the last chunk (with no entries,
   * the call only marks it): a reader finds the list only once every order of it is written.
   */
  async writeRebuild(userId: string, entries: RebuildEntry[], options: { markBuilt: boolean }): Promise<void> {
    const chunks = rebuildChunks(entries);
    for (const [index, chunk] of chunks.entries()) {
      const markBuilt = options.markBuilt && index === chunks.length - 1;
      const orderKeys = chunk.map((entry) => keys.order(userId, entry.orderId));
      const args = chunk.flatMap((entry) => [entry.version, orderMember(entry.serialNumber), String(entry.createdAtMs), entry.json ?? '']);
      await this.scripts.projectionRebuild(3 + chunk.length, keys.userIndex(userId), keys.userDocs(userId), keys.userBuilt(userId), ...orderKeys, userId, markBuilt ? '1' : '0', ...args);
    }
  }

  /** True if this caller may rebuild the user now; the lock expires by itself if the caller dies. */
  async tryLock(userId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(keys.userLock(userId), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Extends the lock by ttlMs if this caller still holds it; false when it expired (another reader may hold it now). */
  async renewLock(userId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.scripts.projectionRenewLock(keys.userLock(userId), token, ttlMs)) === 1;
  }

  async unlock(userId: string, token: string): Promise<void> {
    await this.scripts.projectionUnlock(keys.userLock(userId), token);
  }
}

/** The script calls a rebuild of these entries makes, by REBUILD_CHUNK; always one, so that an empty write still marks. */
export function rebuildChunks(entries: RebuildEntry[]): RebuildEntry[][] {
  const chunks: RebuildEntry[][] = [[]];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.json ?? '');
    const current = chunks.at(-1)!;
    if (current.length > 0 && (current.length >= REBUILD_CHUNK.orders || bytes + size > REBUILD_CHUNK.bytes)) {
      chunks.push([entry]);
      bytes = size;
    } else {
      current.push(entry);
      bytes += size;
    }
  }
  return chunks;
}
