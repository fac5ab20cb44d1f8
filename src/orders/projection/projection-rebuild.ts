import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/database.js';
import type { CustomerRepository } from '../../customers/customer-repository.js';
import { orderJsonText } from '../order-json.js';
import type { OrderReads, UserOrdersSnapshot } from '../persistence/order-reads.js';
import type { ProjectionStore, RebuildEntry } from './projection-store.js';
import type { ProjectionRepair } from './projection-repair.js';

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
  /** Follow each user's merge with a repair of what PostgreSQL contradicts (the rebuild command does). */
  repair?: ProjectionRepair;
}

/** Rebuilds users' projections from PostgreSQL: one user on a read that found none, every user by the command. */
@injectable()
export class ProjectionRebuild {
  constructor(
    @inject(TOKENS.OrderReads) private readonly reads: OrderReads,
    @inject(TOKENS.ProjectionStore) private readonly store: ProjectionStore,
    @inject(TOKENS.CustomerRepository) private readonly customers: CustomerRepository,
    @inject(TOKENS.Database) private readonly database: Database,
  ) {}

  /**
   * Rebuilds one user's projection and returns the snapshot it used (undefined: no such user, nothing written).
   * Safe while the projector runs: see REBUILD_SCRIPT for how the two merge.
   */
  async rebuildUser(userId: string): Promise<UserOrdersSnapshot | undefined> {
    const snapshot = await this.reads.userSnapshot(userId);
    if (snapshot) await this.store.writeRebuild(userId, rebuildEntries(snapshot));
    return snapshot;
  }

  /** Rebuilds every user, paging through users by id; returns how many users and listed orders it wrote. */
  async rebuildAll(options: RebuildAllOptions = {}): Promise<RebuildProgress> {
    const pageSize = options.pageSize ?? 500;
    const concurrency = options.concurrency ?? 8;
    const progress: RebuildProgress = { users: 0, totalUsers: await this.customers.countUsers(this.database), orders: 0, repaired: 0 };
    options.onProgress?.(progress);
    for (let page = await this.customers.userIdsAfter(this.database, undefined, pageSize); page.length > 0; page = await this.customers.userIdsAfter(this.database, page.at(-1), pageSize)) {
      for (let start = 0; start < page.length; start += concurrency) {
        const snapshots = await Promise.all(page.slice(start, start + concurrency).map((userId) => this.rebuildAndRepair(userId, progress, options.repair)));
        progress.users += snapshots.length;
        progress.orders += snapshots.reduce((sum, snapshot) => sum + (snapshot?.visible.length ?? 0), 0);
        // Users created after the count was taken can push the done count past it.
        progress.totalUsers = Math.max(progress.totalUsers, progress.users);
        options.onProgress?.(progress);
      }
    }
    return progress;
  }

  private async rebuildAndRepair(userId: string, progress: RebuildProgress, repair: ProjectionRepair | undefined): Promise<UserOrdersSnapshot | undefined> {
    const snapshot = await this.rebuildUser(userId);
    if (snapshot && repair) progress.repaired += await repair.repairUser(userId, [...snapshot.visible.map((view) => view.orderId), ...snapshot.deleted.map((order) => order.orderId)]);
    return snapshot;
  }
}

/** Listed orders first, then the deleted ones, so that a row seen both ways (deleted mid-read) ends deleted. */
export function rebuildEntries(snapshot: UserOrdersSnapshot): RebuildEntry[] {
  const listed = snapshot.visible.map<RebuildEntry>((view) => ({
    orderId: view.orderId,
    version: view.version,
    serialNumber: view.serialNumber,
    createdAtMs: view.createdAtMs,
    json: orderJsonText(view),
  }));
  const deleted = snapshot.deleted.map<RebuildEntry>((order) => ({ ...order, json: undefined }));
  return [...listed, ...deleted];
}
