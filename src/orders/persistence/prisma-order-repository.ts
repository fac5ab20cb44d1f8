import { inject, injectable } from 'tsyringe';
import { Prisma } from '../../generated/prisma/client.js';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/prisma.js';
import { reader, requireTransaction } from '../../platform/database/transaction-context.js';
import type { OutboxEntry, OutboxWriter } from '../../outbox/outbox-writer.js';
import { fullAddress, type AddressFields } from '../../customers/address.js';
import { Order } from '../domain/order.js';
import type { PaymentMethod, SagaStatus } from '../domain/order-status.js';
import type { OrderEvent } from '../domain/order-events.js';
import { ORDER_EVENT_ROUTES, ORDERS_EXCHANGE } from '../messaging/order-event-routes.js';

export interface CreationContext {
  existingFingerprint: string | undefined;
  username: string | undefined;
  address: AddressFields | undefined;
  products: { id: string; name: string; priceCents: number; discount: number }[];
  serialNumber: number;
}

/** An address row as the AddressFields JSON object (the table is aliased `a`). */
const ADDRESS_JSON = Prisma.raw(
  `json_build_object('buildingNumber', a.building_number, 'streetName', a.street_name, 'city', a.city, 'country', a.country)`,
);

interface LockedOrderRow {
  id: string;
  serialNumber: bigint;
  userId: string;
  username: string;
  deliveryAddressId: string;
  address: AddressFields;
  paymentMethod: string;
  sagaStatus: string;
  sagaDeadline: Date;
  sagaEndedAt: Date | null;
  totalCents: bigint;
  lastEventSequence: number;
  createdAt: Date;
  deletedAt: Date | null;
  /** Null when the order has no lines (never, by the rules; the type says what SQL can return). */
  lines: { productId: string; productName: string; listPriceCents: number; discount: number; actualPriceCents: number }[] | null;
}

interface RawCreationContext {
  existingFingerprint: string | null;
  username: string | null;
  address: AddressFields | null;
  products: { id: string; name: string; priceCents: number; discount: number }[];
  serialNumber: bigint;
}

/**
 * Loads and saves Order aggregates. Saving writes the order, its lines, its recorded events as outbox rows
 * and the fate of its held rows, all in the command's transaction.
 */
@injectable()
export class PrismaOrderRepository {
  /** How many events each loaded order had already recorded, so new rows continue its sequence. */
  private readonly versions = new WeakMap<Order, number>();

  constructor(
    @inject(TOKENS.Database) private readonly database: Database,
    @inject(TOKENS.OutboxWriter) private readonly outbox: OutboxWriter,
  ) {}

  /**
   * Everything creating an order reads, in one round trip: the fingerprint of an order already under this id,
   * the user's name, the delivery address, the products that exist among the ids, and a fresh serial number
   * (a gap in the sequence when the order turns out to exist already is harmless: serials are unique and increasing).
   */
  async loadCreationContext(input: { orderId: string; userId: string; addressId: string; productIds: string[] }): Promise<CreationContext> {
    const [row] = await requireTransaction().$queryRaw<RawCreationContext[]>`
      SELECT (SELECT request_fingerprint FROM orders WHERE id = ${input.orderId}::uuid) AS "existingFingerprint",
             (SELECT username FROM users WHERE id = ${input.userId}::uuid) AS username,
             (SELECT ${ADDRESS_JSON} FROM addresses a WHERE a.id = ${input.addressId}::uuid) AS address,
             (SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'priceCents', price_cents, 'discount', discount)), '[]'::json)
                FROM products WHERE id = ANY(${input.productIds}::uuid[])) AS products,
             nextval(pg_get_serial_sequence('orders', 'serial_number')) AS "serialNumber"`;
    return {
      existingFingerprint: row!.existingFingerprint ?? undefined,
      username: row!.username ?? undefined,
      address: row!.address ?? undefined,
      products: row!.products,
      serialNumber: Number(row!.serialNumber),
    };
  }

  /** The fingerprint of the request that created an order, to tell a retry from a different order under the same id. */
  async findFingerprint(orderId: string): Promise<string | undefined> {
    const row = await reader(this.database).order.findUnique({ where: { id: orderId }, select: { requestFingerprint: true } });
    return row?.requestFingerprint;
  }

  /**
   * Inserts a new order with its lines and events, in one statement (CreateOrder is a single-statement unit of
   * work). Returns false, writing nothing, when an order with this id already exists (also when a concurrent
   * request created it a moment ago: ON CONFLICT waits for that one).
   */
  async insertNew(order: Order, requestFingerprint: string): Promise<boolean> {
    const s = order.snapshot;
    const events = order.pullEvents();
    const lines = s.lines;
    // Raw SQL: this is the hottest write of the service. ON CONFLICT DO NOTHING leaves `inserted` empty when the
    // id exists, and then no line and no outbox row is written either.
    const [result] = await requireTransaction().$queryRaw<{ inserted: number }[]>`
      WITH inserted AS (
        INSERT INTO orders (id, serial_number, user_id, delivery_address_id, payment_method, order_status, saga_status,
                            saga_deadline, total_cents, request_fingerprint, last_event_sequence, created_at)
        VALUES (${s.id}::uuid, ${s.serialNumber}, ${s.client.id}::uuid, ${s.deliveryAddress.id}::uuid, ${s.paymentMethod},
                ${s.orderStatus}, ${s.sagaStatus}, ${s.sagaDeadline}::timestamptz, ${s.totalCents}, ${requestFingerprint},
                ${events.length}, ${s.createdAt}::timestamptz)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
      ), new_lines AS (
        INSERT INTO order_lines (order_id, position, product_id, product_name, list_price_cents, discount, actual_price_cents)
        SELECT inserted.id, l.position - 1, l.product_id, l.product_name, l.list_price_cents, l.discount, l.actual_price_cents
        FROM inserted,
             unnest(${lines.map((l) => l.productId)}::uuid[], ${lines.map((l) => l.productName)}::text[],
                    ${lines.map((l) => l.listPriceCents)}::bigint[], ${lines.map((l) => l.discount)}::int[],
                    ${lines.map((l) => l.actualPriceCents)}::bigint[])
               WITH ORDINALITY AS l(product_id, product_name, list_price_cents, discount, actual_price_cents, position)
      ), new_events AS (
        ${this.outbox.insertStatement(this.outboxEntries(events, 0), 'inserted')}
      )
      SELECT count(*)::int AS inserted FROM inserted`;
    if (!result || result.inserted === 0) return false;
    this.versions.set(order, events.length);
    return true;
  }

  /**
   * Loads an order and locks its row until the transaction ends, so two commands on one order run one after the
   * other. One statement for the row, its user, address and lines: a saga reply runs this for every order.
   */
  async getForUpdate(orderId: string): Promise<Order | undefined> {
    const [row] = await requireTransaction().$queryRaw<LockedOrderRow[]>`
      SELECT o.id, o.serial_number AS "serialNumber", o.user_id AS "userId", u.username, o.delivery_address_id AS "deliveryAddressId",
             ${ADDRESS_JSON} AS address, o.payment_method AS "paymentMethod", o.saga_status AS "sagaStatus",
             o.saga_deadline AS "sagaDeadline", o.saga_ended_at AS "sagaEndedAt", o.total_cents AS "totalCents",
             o.last_event_sequence AS "lastEventSequence", o.created_at AS "createdAt", o.deleted_at AS "deletedAt",
             (SELECT json_agg(json_build_object('productId', l.product_id, 'productName', l.product_name, 'listPriceCents', l.list_price_cents,
                                                'discount', l.discount, 'actualPriceCents', l.actual_price_cents) ORDER BY l.position)
                FROM order_lines l WHERE l.order_id = o.id) AS lines
      FROM orders o
      JOIN users u ON u.id = o.user_id
      JOIN addresses a ON a.id = o.delivery_address_id
      WHERE o.id = ${orderId}::uuid
      FOR UPDATE OF o`;
    if (!row) return undefined;
    const order = Order.restore({
      id: row.id,
      serialNumber: Number(row.serialNumber),
      client: { id: row.userId, username: row.username },
      deliveryAddress: { id: row.deliveryAddressId, fullAddress: fullAddress(row.address) },
      paymentMethod: row.paymentMethod as PaymentMethod,
      orderStatus: 'New',
      sagaStatus: row.sagaStatus as SagaStatus,
      sagaDeadline: row.sagaDeadline,
      sagaEndedAt: row.sagaEndedAt,
      lines: (row.lines ?? []).map((line) => ({ ...line, listPriceCents: Number(line.listPriceCents), actualPriceCents: Number(line.actualPriceCents) })),
      totalCents: Number(row.totalCents),
      createdAt: row.createdAt,
      deletedAt: row.deletedAt,
    });
    this.versions.set(order, row.lastEventSequence);
    return order;
  }

  /**
   * Saves the changes of an order loaded with getForUpdate in one statement: the order row, its new events as
   * outbox rows, and the fate of its held rows (the parts touch different rows, so none needs another's effect).
   */
  async save(order: Order): Promise<void> {
    const version = this.versions.get(order);
    if (version === undefined) throw new Error('save() of an order that was not loaded by this repository');
    const s = order.snapshot;
    const events = order.pullEvents();
    const fate = order.heldEventsFate;
    const parts = [
      Prisma.sql`updated AS (
        UPDATE orders
        SET saga_status = ${s.sagaStatus}, saga_ended_at = ${s.sagaEndedAt}::timestamptz, deleted_at = ${s.deletedAt}::timestamptz,
            last_event_sequence = ${version + events.length}
        WHERE id = ${s.id}::uuid)`,
    ];
    if (events.length > 0) parts.push(Prisma.sql`new_events AS (${this.outbox.insertStatement(this.outboxEntries(events, version))})`);
    if (fate !== undefined) parts.push(Prisma.sql`held AS (${this.outbox.heldRowsStatement(s.id, fate)})`);
    await requireTransaction().$executeRaw`WITH ${Prisma.join(parts, ', ')} SELECT 1`;
    this.versions.set(order, version + events.length);
  }

  private outboxEntries(events: OrderEvent[], version: number): OutboxEntry[] {
    return events.map((event, index) => ({ event, exchange: ORDERS_EXCHANGE, ...ORDER_EVENT_ROUTES[event.eventType], sequence: version + index + 1 }));
  }
}
