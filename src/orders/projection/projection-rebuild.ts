import type { Database } from '../../platform/database/prisma.js';
import { toOrderJson } from '../order-json.js';
import type { ProjectionStore, RebuildEntry } from './projection-store.js';
import { loadUserOrders, type UserOrdersSnapshot } from './user-orders-postgres.js';
import type { ProjectionRepairStore } from './projection-repair-store.js';
import { repairUser } from './projection-repair.js';

/**
 * Rebuilds one user's projection from PostgreSQL and returns the snapshot it used (undefined: no such user,
 * nothing written). Safe while the projector runs: see REBUILD_SCRIPT for how the two merge.
 */
export async function rebuildUser(database: Database, store: ProjectionStore, userId: string): Promise<UserOrdersSnapshot | undefined> {
  const snapshot = await loadUserOrders(database, userId);
  if (snapshot) await store.writeRebuild(userId, rebuildEntries(snapshot));
  return snapshot;
}

/** Listed orders first, then the deleted ones, so that a row seen both ways (deleted mid-read) ends deleted. */
export function rebuildEntries(snapshot: UserOrdersSnapshot): RebuildEntry[] {
  const listed = snapshot.visible.map<RebuildEntry>((row) => ({
    orderId: row.id,
    version: row.lastEventSequence,
    serialNumber: row.serialNumber,
    createdAtMs: row.createdAt.getTime(),
    json: JSON.stringify(toOrderJson(row)),
  }));
  const deleted = snapshot.deleted.map<RebuildEntry>((row) => ({
    orderId: row.id,
    version: row.lastEventSequence,
    serialNumber: row.serialNumber,
    createdAtMs: row.createdAt.getTime(),
    json: undefined,
  }));
  return [...listed, ...deleted];
}

export interface RebuildProgress {
  users: number;
  totalUsers: number;
  orders: number;
  /** Orders and list members rewritten because Redis contradicted PostgreSQL (see projection-repair.ts). */
  repaired: number;
}

export interface RebuildAllOptions {
  /** Users read per page (keyset pagination by id, so the cost per page does not grow). */
  pageSize?: number;
  /** Users rebuilt at once. */
  concurrency?: number;
  onProgress?(progress: RebuildProgress): void;
  /** With it, each user's merge is followed by a repair of what PostgreSQL contradicts. */
  repair?: ProjectionRepairStore;
}

/** Rebuilds every user, paging through users by id; returns how many users and listed orders it wrote. */
export async function rebuildAllUsers(database: Database, store: ProjectionStore, options: RebuildAllOptions = {}): Promise<RebuildProgress> {
  const pageSize = options.pageSize ?? 500;
  const concurrency = options.concurrency ?? 8;
  const progress: RebuildProgress = { users: 0, totalUsers: await database.user.count(), orders: 0, repaired: 0 };
  options.onProgress?.(progress);
  let after: string | undefined;
  for (;;) {
    const page = await database.user.findMany({
      ...(after ? { where: { id: { gt: after } } } : {}),
      orderBy: { id: 'asc' },
      take: pageSize,
      select: { id: true },
    });
    if (page.length === 0) break;
    for (let start = 0; start < page.length; start += concurrency) {
      const snapshots = await Promise.all(
        page.slice(start, start + concurrency).map(async ({ id }) => {
          const snapshot = await rebuildUser(database, store, id);
          if (snapshot && options.repair) progress.repaired += await repairUser(database, options.repair, id, snapshotOrderIds(snapshot));
          return snapshot;
        }),
      );
      progress.users += snapshots.length;
      progress.orders += snapshots.reduce((sum, snapshot) => sum + (snapshot?.visible.length ?? 0), 0);
      // Users created after the count was taken can push the done count past it.
      progress.totalUsers = Math.max(progress.totalUsers, progress.users);
      options.onProgress?.(progress);
    }
    after = page.at(-1)!.id;
  }
  return progress;
}

function snapshotOrderIds(snapshot: UserOrdersSnapshot): string[] {
  return [...snapshot.visible, ...snapshot.deleted].map((row) => row.id);
}
