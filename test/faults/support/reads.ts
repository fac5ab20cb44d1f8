import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { request } from './http-client.js';
import { expectedUserLists, type OrderJson } from './expected-orders.js';

export interface ReadStats {
  reads: number;
  byStatus: Map<string, number>;
  /** Reads compared with PostgreSQL (only while `compareWithDatabase` is on, and only when the database held still around the read). */
  compared: number;
  /** The first 20 reads that differed from PostgreSQL; all of them are counted, the last one timed. */
  mismatches: string[];
  mismatchCount: number;
  lastMismatchAt: number | undefined;
  /** Every compared read: when its answer came, whether it equalled PostgreSQL, and what it answered if not. */
  timeline: { answeredAt: number; matched: boolean; text: string }[];
}

/**
 * Reads users' order lists (GET /orders/user/:userID) in a loop while a fault is on. With compareWithDatabase,
 * each answer must equal the database's list, read just before and just after it; a read during which the list
 * changed (an approval landed) proves nothing either way and is skipped.
 */
export class ReadProbe {
  readonly stats: ReadStats = { reads: 0, byStatus: new Map(), compared: 0, mismatches: [], mismatchCount: 0, lastMismatchAt: undefined, timeline: [] };
  compareWithDatabase = false;
  private running: Promise<void>[] = [];
  private stopped = false;
  private next = 0;

  constructor(
    private readonly ports: () => number[],
    private readonly users: string[],
    private readonly pool: pg.Pool,
    /** Readers at once, each reading in a loop with a pause between reads. */
    private readonly readers = 3,
    private readonly pauseMs = 50,
  ) {}

  start(): void {
    this.running = Array.from({ length: this.readers }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const i = this.next++;
      const ports = this.ports();
      const userId = this.users[i % this.users.length]!;
      const compare = this.compareWithDatabase;
      const before = compare ? await this.databaseList(userId) : undefined;
      const answer = await request(ports[i % ports.length]!, 'GET', `/api/v1/orders/user/${userId}?limit=1000`);
      const answeredAt = Date.now();
      const key = answer.ok ? String(answer.status) : answer.error;
      this.stats.reads++;
      this.stats.byStatus.set(key, (this.stats.byStatus.get(key) ?? 0) + 1);
      // Compared only when the whole read fell within the comparing time (the fault did not end during it).
      if (compare && this.compareWithDatabase && answer.ok && answer.status === 200) {
        const after = await this.databaseList(userId);
        if (before && after && isDeepStrictEqual(before, after)) {
          this.stats.compared++;
          const orders = (JSON.parse(answer.text) as { orders: OrderJson[] }).orders;
          const matched = isDeepStrictEqual(orders, after);
          const text = `GET /orders/user/${userId} answered ${orders.length} orders, PostgreSQL has ${after.length}`;
          this.stats.timeline.push({ answeredAt: answeredAt, matched, text });
          if (!matched) {
            this.stats.mismatchCount++;
            this.stats.lastMismatchAt = answeredAt;
            if (this.stats.mismatches.length < 20) this.stats.mismatches.push(text);
          }
        }
      }
      await sleep(this.pauseMs);
    }
  }

  private async databaseList(userId: string): Promise<OrderJson[] | undefined> {
    return (await expectedUserLists(this.pool, userId).catch(() => undefined))?.get(userId);
  }
}
