import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/database.js';
import { sql } from '../../platform/database/sql.js';
import { fromCents } from '../../kernel/money.js';
import type { ListParams } from '../../kernel/schemas.js';
import { fullAddress, type AddressFields } from '../../customers/address.js';
import { SagaStatus, VISIBLE_SAGA_STATUSES } from '../domain/order-status.js';
import type { OrderView } from '../order-json.js';

/** An order as a projection rebuild writes it: its view, and the version up to which its events are in it. */
export interface StoredOrderView extends OrderView {
  /** orders.last_event_sequence: every event up to it is reflected in this read. */
  version: number;
  createdAtMs: number;
}

/** Some of a user's approved orders, visible and deleted: a page of them. */
export interface UserOrdersSnapshot {
  /** Not deleted, by createdAt then serialNumber, ascending: the user's list. */
  visible: StoredOrderView[];
  /** Deleted: a rebuild leaves a tombstone for each, so a late event never brings one back. */
  deleted: { orderId: string; serialNumber: number; createdAtMs: number; version: number }[];
}

/** Where a page of a user's orders ended: the next page starts after this order (createdAt, then serial number). */
export interface UserOrdersCursor {
  createdAt: Date;
  serialNumber: number;
}

/** A page of a user's approved orders, and where the next page starts (none after the last page). */
export interface UserOrdersPage extends UserOrdersSnapshot {
  next: UserOrdersCursor | undefined;
}

/** Orders read per page by userOrdersPage's callers: a page with 100 products an order is a few MB at most. */
export const USER_ORDERS_PAGE = 200;

interface OrderViewRow extends AddressFields {
  orderId: string;
  serialNumber: number;
  clientId: string;
  clientName: string;
  paymentMethod: string;
  orderStatus: string;
  sagaStatus: string;
  createdAt: Date;
  totalCents: number;
  version: number;
  deleted: boolean;
  lines: { productId: string; productName: string; actualPriceCents: number }[] | null;
}

/** The columns of an order's view; the order is aliased o, its user u, its delivery address a. */
const VIEW_COLUMNS = sql`
  o.id AS "orderId", o.serial_number AS "serialNumber", o.user_id AS "clientId", u.username AS "clientName",
  a.country, a.city, a.street_name AS "streetName", a.building_number AS "buildingNumber",
  o.payment_method AS "paymentMethod", o.order_status AS "orderStatus", o.saga_status AS "sagaStatus",
  o.created_at AS "createdAt", o.total_cents AS "totalCents", o.last_event_sequence AS version, o.deleted_at IS NOT NULL AS deleted,
  (SELECT json_agg(json_build_object('productId', l.product_id, 'productName', l.product_name, 'actualPriceCents', l.actual_price_cents)
                   ORDER BY l.position)
     FROM order_lines l WHERE l.order_id = o.id) AS lines`;
const FROM_ORDERS = sql`FROM orders o JOIN users u ON u.id = o.user_id JOIN addresses a ON a.id = o.delivery_address_id`;
const APPROVED = sql`o.saga_status = ${SagaStatus.Approved}`;

/** The orders a query reads, outside any unit of work: every read of `orders` that builds the Order JSON. */
@injectable()
export class OrderReads {
  constructor(@inject(TOKENS.Database) private readonly database: Database) {}

  /** An order a client can see: not deleted, and pending or approved. */
  async findVisible(orderId: string): Promise<OrderView | undefined> {
    const [row] = await this.database.read(sql<OrderViewRow>`
      SELECT ${VIEW_COLUMNS} ${FROM_ORDERS}
      WHERE o.id = ${orderId}::uuid AND o.deleted_at IS NULL AND o.saga_status = ANY(${VISIBLE_SAGA_STATUSES}::text[])`);
    return row && toView(row);
  }

  /** A page of approved, not deleted orders (of one user, when given) by creation time, then serial number. */
  async approvedPage(params: ListParams, userId?: string): Promise<{ views: OrderView[]; total: number }> {
    const where = sql`WHERE ${APPROVED} AND o.deleted_at IS NULL ${userId === undefined ? sql.empty : sql`AND o.user_id = ${userId}::uuid`}`;
    const direction = params.order === 'desc' ? sql`DESC` : sql`ASC`;
    const [rows, [count]] = await Promise.all([
      this.database.read(sql<OrderViewRow>`
        SELECT ${VIEW_COLUMNS} ${FROM_ORDERS} ${where}
        ORDER BY o.created_at ${direction}, o.serial_number ${direction}
        LIMIT ${params.limit} OFFSET ${params.offset}`),
      this.database.read(sql<{ total: number }>`SELECT count(*)::int AS total FROM orders o ${where}`),
    ]);
    return { views: rows.map(toView), total: count?.total ?? 0 };
  }

  /**
   * A page of what a projection rebuild of one user needs: the user's approved orders (deleted ones too, for their
   * tombstones) with their versions, by createdAt then serial number, after `after`. Undefined when the user does
   * not exist, so that random ids leave nothing behind in Redis. Each order is read at one moment with its version,
   * which is all the rebuild's merge needs: pages read at different moments see an order deleted in between as
   * deleted, and an order approved in between, or later, reaches Redis from the projector.
   */
  async userOrdersPage(userId: string, after: UserOrdersCursor | undefined, limit: number): Promise<UserOrdersPage | undefined> {
    // created_at >= lets the (user_id, created_at) index start at the cursor; the row comparison breaks ties.
    const afterCursor = after
      ? sql`AND o.created_at >= ${after.createdAt}::timestamptz AND (o.created_at, o.serial_number) > (${after.createdAt}::timestamptz, ${after.serialNumber}::bigint)`
      : sql.empty;
    // From the user, so that a user without (more) approved orders still gives one row (with no order in it). The
    // page is chosen inside the lateral join, so the lines of only its orders are aggregated, not of the whole rest.
    const rows = await this.database.read(sql<OrderViewRow>`
      SELECT ${VIEW_COLUMNS}
      FROM users u
      LEFT JOIN LATERAL (
        SELECT * FROM orders o WHERE o.user_id = u.id AND ${APPROVED} ${afterCursor}
        ORDER BY o.created_at, o.serial_number
        LIMIT ${limit}) o ON true
      LEFT JOIN addresses a ON a.id = o.delivery_address_id
      WHERE u.id = ${userId}::uuid
      ORDER BY o.created_at, o.serial_number`);
    if (rows.length === 0) return undefined;
    const orders = rows.filter((row) => row.orderId !== null);
    const last = orders.at(-1);
    return {
      visible: orders.filter((row) => !row.deleted).map((row) => ({ ...toView(row), version: row.version, createdAtMs: row.createdAt.getTime() })),
      deleted: orders.filter((row) => row.deleted).map((row) => ({ orderId: row.orderId, serialNumber: row.serialNumber, createdAtMs: row.createdAt.getTime(), version: row.version })),
      next: last && orders.length === limit ? { createdAt: last.createdAt, serialNumber: last.serialNumber } : undefined,
    };
  }

  /** Those of these orders that the user's list shows (the user's, approved, not deleted), with their versions. */
  async listedViews(userId: string, orderIds: string[]): Promise<StoredOrderView[]> {
    const rows = await this.database.read(sql<OrderViewRow>`
      SELECT ${VIEW_COLUMNS} ${FROM_ORDERS}
      WHERE o.id = ANY(${orderIds}::uuid[]) AND o.user_id = ${userId}::uuid AND ${APPROVED} AND o.deleted_at IS NULL`);
    return rows.map((row) => ({ ...toView(row), version: row.version, createdAtMs: row.createdAt.getTime() }));
  }

  /** Those of these serial numbers whose orders the user's list shows (the user's, approved, not deleted). */
  async listedSerialNumbers(userId: string, serialNumbers: bigint[]): Promise<Set<bigint>> {
    const rows = await this.database.read(sql<{ serial: string }>`
      SELECT serial_number::text AS serial FROM orders o
      WHERE o.serial_number = ANY(${serialNumbers.map(String)}::bigint[]) AND o.user_id = ${userId}::uuid AND ${APPROVED} AND o.deleted_at IS NULL`);
    return new Set(rows.map((row) => BigInt(row.serial)));
  }

  /** Whether any pending saga is past its deadline: the timeout job's cheap probe on the partial index. */
  async anyDueForTimeout(now: Date): Promise<boolean> {
    const [row] = await this.database.read(sql<{ any: boolean }>`
      SELECT EXISTS (SELECT 1 FROM orders WHERE saga_status = ${SagaStatus.Pending} AND saga_deadline <= ${now}::timestamptz) AS any`);
    return row?.any ?? false;
  }

  /** The user of each of these orders that exists (of any state: order rows are never deleted). */
  async usersOf(orderIds: string[]): Promise<Map<string, string>> {
    const rows = await this.database.read(sql<{ id: string; userId: string }>`SELECT id, user_id AS "userId" FROM orders WHERE id = ANY(${orderIds}::uuid[])`);
    return new Map(rows.map((row) => [row.id, row.userId]));
  }

  /** The ids among these that are orders (of any state: order rows are never deleted). */
  async existing(orderIds: string[]): Promise<Set<string>> {
    const rows = await this.database.read(sql<{ id: string }>`SELECT id FROM orders WHERE id = ANY(${orderIds}::uuid[])`);
    return new Set(rows.map((row) => row.id));
  }
}

function toView(row: OrderViewRow): OrderView {
  return {
    orderId: row.orderId,
    serialNumber: row.serialNumber,
    clientId: row.clientId,
    clientName: row.clientName,
    fullAddress: fullAddress(row),
    paymentMethod: row.paymentMethod,
    orderStatus: row.orderStatus,
    sagaStatus: row.sagaStatus,
    createdAt: row.createdAt.toISOString(),
    totalPrice: fromCents(row.totalCents),
    lines: (row.lines ?? []).map((line) => ({ productId: line.productId, productName: line.productName, actualPrice: fromCents(line.actualPriceCents) })),
  };
}
