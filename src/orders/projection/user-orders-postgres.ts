import { readApprovedOrdersPage } from '../order-queries.js';
import type { Database } from '../../platform/database/prisma.js';
import { listPage, type ListPage, type ListParams } from '../../kernel/schemas.js';
import { ORDER_READ_INCLUDE, toOrderJson, type OrderJson, type OrderReadRow } from '../order-json.js';

/** The user's approved orders, visible and deleted, as one read saw them. */
export interface UserOrdersSnapshot {
  /** Not deleted, by createdAt then serialNumber, ascending: the user's list. */
  visible: (OrderReadRow & { lastEventSequence: number })[];
  /** Deleted: the rebuild leaves a tombstone for each, so a late event never brings one back. */
  deleted: { id: string; serialNumber: bigint | number; createdAt: Date; lastEventSequence: number }[];
}

/**
 * What a rebuild needs, in one read: every approved order of the user (deleted ones too, for their tombstones)
 * with its last_event_sequence, the version up to which the snapshot reflects its events. Undefined when the user
 * does not exist, so that random ids leave nothing behind in Redis.
 */
export async function loadUserOrders(database: Database, userId: string): Promise<UserOrdersSnapshot | undefined> {
  const user = await database.user.findUnique({
    where: { id: userId },
    select: {
      orders: {
        where: { sagaStatus: 'Approved' },
        include: ORDER_READ_INCLUDE,
        orderBy: [{ createdAt: 'asc' }, { serialNumber: 'asc' }],
      },
    },
  });
  if (!user) return undefined;
  return {
    visible: user.orders.filter((order) => order.deletedAt === null),
    deleted: user.orders.filter((order) => order.deletedAt !== null),
  };
}

/** A page of a snapshot's visible orders, exactly as a projection read would answer it. */
export function pageOfSnapshot(snapshot: UserOrdersSnapshot | undefined, params: ListParams): ListPage<'orders', OrderJson> {
  const rows = snapshot?.visible ?? [];
  const ordered = params.order === 'desc' ? [...rows].reverse() : rows;
  return listPage('orders', ordered.slice(params.offset, params.offset + params.limit).map(toOrderJson), rows.length, params);
}

/** The same page read straight from PostgreSQL: the answer while Redis is down. */
export function readUserOrdersPage(database: Database, userId: string, params: ListParams): Promise<ListPage<'orders', OrderJson>> {
  return readApprovedOrdersPage(database, params, userId);
}
