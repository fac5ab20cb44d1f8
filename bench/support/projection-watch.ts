/**
 * When an order becomes visible in a per-user projection: polls the order's projection hash in Redis
 * (`proj:{u:<user>}:order:<id>`, field `vis`, which the projector's apply script sets in the same atomic step that lists
 * the order in the user's index and docs) for every order still pending, in one pipeline per poll. The time
 * taken is when the poll's reply arrived, so it is late by at most one poll interval plus one Redis round trip.
 */
import { Redis } from 'ioredis';
import { projectionKeys } from '../../src/orders/projection/projection-keys.js';

export class ProjectionWatch {
  private readonly redis: Redis;
  /** Order key -> what to call once the order is listed. */
  private readonly pending = new Map<string, (visibleAt: number) => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  polls = 0;

  constructor(redisUrl: string, keyPrefix: string, private readonly intervalMs = 1) {
    this.redis = new Redis(redisUrl, { keyPrefix });
  }

  /** Orders not seen listed yet. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Resolves with performance.now() at the poll that first saw the order listed. */
  visible(userId: string, orderId: string): Promise<number> {
    const seen = new Promise<number>((resolve) => this.pending.set(projectionKeys.order(userId, orderId), resolve));
    this.schedule();
    return seen;
  }

  /** Gives up on orders still pending (resolving them with NaN) and disconnects. */
  close(): void {
    clearTimeout(this.timer);
    for (const resolve of this.pending.values()) resolve(Number.NaN);
    this.pending.clear();
    this.redis.disconnect();
  }

  private schedule(): void {
    if (this.timer || this.polling || this.pending.size === 0) return;
    this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    const ids = [...this.pending.keys()];
    const pipeline = this.redis.pipeline();
    for (const key of ids) pipeline.hget(key, 'vis');
    const replies = (await pipeline.exec()) ?? [];
    const now = performance.now();
    this.polls++;
    replies.forEach(([error, value], index) => {
      if (error || value !== '1') return;
      const id = ids[index]!;
      this.pending.get(id)?.(now);
      this.pending.delete(id);
    });
    this.polling = false;
    this.schedule();
  }
}

/** Removes every key under a prefix (this run's only; the Redis server is shared). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const cleaner = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await cleaner.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  cleaner.disconnect();
}
