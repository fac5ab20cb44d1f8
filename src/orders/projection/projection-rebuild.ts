import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/database.js';
import type { CustomerRepository } from '../../customers/customer-repository.js';
import { orderJsonText } from '../order-json.js';
import { USER_ORDERS_PAGE, type OrderReads, type UserOrdersSnapshot } from '../persistence/order-reads.js';
import type { ProjectionStore, RebuildEntry } from './projection-store.js';
import { orderMember } from './projection-keys.js';
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

/** What a rebuild of one user wrote. */
export interface RebuiltUser {
  /** Orders now listed (approved, not deleted) as PostgreSQL had them. */
  listed: number;
  /** Every order written, listed or ended, with its member (from its serial number) in the user's list. */
  orders: { orderId: string; member: string }[];
}

export interface RebuildUserOptions {
  /** Orders read from PostgreSQL per page (USER_ORDERS_PAGE); each page is written before the next is read. */
  pageSize?: number;
  /** Called after each page is written, before the next is read: a reader renews its rebuild lock here. */
  afterPage?(): Promise<void>;
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
   * Rebuilds one user's projection, a page of orders at a time, so a user with a long history costs a page of memory,
   * not the whole history. The user is marked built with the last page: readers use the list only once it is whole.
   * Undefined: no such user, nothing written. Safe while the projector runs: see REBUILD_SCRIPT for how the two merge.
   */
  async rebuildUser(userId: string, options: RebuildUserOptions = {}): Promise<RebuiltUser | undefined> {
    const pageSize = options.pageSize ?? USER_ORDERS_PAGE;
    const rebuilt: RebuiltUser = { listed: 0, orders: [] };
    let page = await this.reads.userOrdersPage(userId, undefined, pageSize);
    if (!page) return undefined;
    for (;;) {
      const entries = rebuildEntries(page);
      await this.store.writeRebuild(userId, entries, { markBuilt: page.next === undefined });
      rebuilt.listed += page.visible.length;
      rebuilt.orders.push(...entries.map((entry) => ({ orderId: entry.orderId, member: orderMember(entry.serialNumber) })));
      if (!page.next) return rebuilt;
      await options.afterPage?.();
      // The user cannot go away (users are never deleted), so a later page is never undefined.
      page = (await this.reads.userOrdersPage(userId, page.next, pageSize)) ?? { visible: [], deleted: [], next: undefined };
    }
  }

  /** Rebuilds every user, paging through users by id; returns how many users and listed orders it wrote. */
  async rebuildAll(options: RebuildAllOptions = {}): Promise<RebuildProgress> {
    const pageSize = options.pageSize ?? 500;
    const concurrency = options.concurrency ?? 8;
    const progress: RebuildProgress = { users: 0, totalUsers: await this.customers.countUsers(this.database), orders: 0, repaired: 0 };
    options.onProgress?.(progress);
    for (let page = await this.customers.userIdsAfter(this.database, undefined, pageSize); page.length > 0; page = await this.customers.userIdsAfter(this.database, page.at(-1), pageSize)) {
      for (let start = 0; start < page.length; start += concurrency) {
        const rebuilt = await Promise.all(page.slice(start, start + concurrency).map((userId) => this.rebuildAndRepair(userId, progress, options.repair)));
        progress.users += rebuilt.length;
        progress.orders += rebuilt.reduce((sum, user) => sum + (user?.listed ?? 0), 0);
        // Users created after the count was taken can push the done count past it.
        progress.totalUsers = Math.max(progress.totalUsers, progress.users);
        options.onProgress?.(progress);
      }
    }
    return progress;
  }

  private async rebuildAndRepair(userId: string, progress: RebuildProgress, repair: ProjectionRepair | undefined): Promise<RebuiltUser | undefined> {
    const rebuilt = await this.rebuildUser(userId);
    if (rebuilt && repair) progress.repaired += await repair.repairUser(userId, rebuilt.orders);
    return rebuilt;
  }
}

/** A page's entries: each listed order with its document, each deleted one as a tombstone (no document). */
function rebuildEntries(snapshot: UserOrdersSnapshot): RebuildEntry[] {
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
