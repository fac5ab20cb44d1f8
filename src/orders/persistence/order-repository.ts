import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import { sql, type Sql } from '../../platform/database/sql.js';
import type { UnitOfWork } from '../../platform/database/unit-of-work.js';
import { currentCorrelationId } from '../../platform/observability/correlation.js';
import { currentTraceCarrier } from '../../platform/observability/trace-context.js';
import type { SequencedEvent } from '../../kernel/aggregate-root.js';
import { OutboxStatus } from '../../outbox/outbox-status.js';
import type { OutboxSignal } from '../../outbox/outbox-signal.js';
import { discardHeldRows, insertRows, releaseHeldRows, type OutboxEntry } from '../../outbox/persistence/outbox-writes.js';
import { fullAddress, type AddressFields } from '../../customers/address.js';
import { Order } from '../domain/order.js';
import { SagaStatus, type PaymentMethod } from '../domain/order-status.js';
import type { OrderEvent } from '../domain/order-events.js';
import { ORDER_EVENT_ROUTES, ORDERS_EXCHANGE } from '../messaging/order-event-routes.js';

export interface CreationContext {
  existingFingerprint: string | undefined;
  username: string | undefined;
  address: AddressFields | undefined;
  products: { id: string; name: string; priceCents: number; discount: number }[];
  serialNumber: number;
}

interface CreationContextRow {
  existingFingerprint: string | null;
  username: string | null;
  address: AddressFields | null;
  products: CreationContext['products'];
  serialNumber: number;
}

interface LockedOrderRow {
  id: string;
  serialNumber: number;
  userId: string;
  username: string;
  deliveryAddressId: string;
  address: AddressFields;
  paymentMethod: PaymentMethod;
  sagaStatus: SagaStatus;
  sagaDeadline: Date;
  sagaEndedAt: Date | null;
  totalCents: number;
  lastEventSequence: number;
  createdAt: Date;
  deletedAt: Date | null;
  /** Null when the order has no lines (never, by the rules; the type says what SQL can return). */
  lines: { productId: string; productName: string; listPriceCents: number; discount: number; actualPriceCents: number }[] | null;
}

/** An address row as the AddressFields JSON object (the table is aliased `a`). */
const ADDRESS_JSON = sql`json_build_object('buildingNumber', a.building_number, 'streetName', a.street_name, 'city', a.city, 'country', a.country)`;

/**
 * Loads and saves Order aggregates, in the command's unit of work. Saving writes the order, its lines, its new
 * events as outbox rows and the fate of its held rows in ONE statement (the parts touch different rows, so none
 * needs another's effect), and wakes the relay once that committed when it made rows ready.
 */
@injectable()
export class OrderRepository {
  constructor(@inject(TOKENS.OutboxSignal) private readonly outboxSignal: OutboxSignal) {}

  /**
   * Everything creating an order reads, in one round trip: the fingerprint of an order already under this id, the
   * user's name, the delivery address, the products that exist among the ids, and a fresh serial number (a gap in
   * the sequence when the order turns out to exist already is harmless: serials are unique and increasing).
   * Prepared: its text never changes, and planning it took longer than running it (0.29 against 0.15 ms an order).
   */
  async loadCreationContext(unit: UnitOfWork, input: { orderId: string; userId: string; addressId: string; productIds: string[] }): Promise<CreationContext> {
    const [row] = await unit.read(sql<CreationContextRow>`
      SELECT (SELECT request_fingerprint FROM orders WHERE id = ${input.orderId}::uuid) AS "existingFingerprint",
             (SELECT username FROM users WHERE id = ${input.userId}::uuid) AS username,
             (SELECT ${ADDRESS_JSON} FROM addresses a WHERE a.id = ${input.addressId}::uuid) AS address,
             (SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'priceCents', price_cents, 'discount', discount)), '[]'::json)
                FROM products WHERE id = ANY(${input.productIds}::uuid[])) AS products,
             nextval(pg_get_serial_sequence('orders', 'serial_number')) AS "serialNumber"`.prepared('order-creation-context'));
    return {
      existingFingerprint: row!.existingFingerprint ?? undefined,
      username: row!.username ?? undefined,
      address: row!.address ?? undefined,
      products: row!.products,
      serialNumber: row!.serialNumber,
    };
  }

  /** The fingerprint of the request that created an order, to tell a retry from a different order under the same id. */
  async findFingerprint(unit: UnitOfWork, orderId: string): Promise<string | undefined> {
    const [row] = await unit.read(sql<{ fingerprint: string }>`SELECT request_fingerprint AS fingerprint FROM orders WHERE id = ${orderId}::uuid`);
    return row?.fingerprint;
  }

  /**
   * Inserts a new order with its lines and events, in one statement (CreateOrder is a single-statement unit of
   * work). Returns false, writing nothing, when an order with this id already exists (also when a concurrent
   * request created it a moment ago: ON CONFLICT waits for that one).
   */
  async insertNew(unit: UnitOfWork, order: Order, requestFingerprint: string): Promise<boolean> {
    const s = order.snapshot;
    const events = order.takeEvents();
    const lines = s.lines;
    const [result] = await unit.write(sql<{ inserted: number }>`
      WITH inserted AS (
        INSERT INTO orders (id, serial_number, user_id, delivery_address_id, payment_method, order_status, saga_status,
                            saga_deadline, total_cents, request_fingerprint, last_event_sequence, created_at)
        VALUES (${s.id}::uuid, ${s.serialNumber}, ${s.client.id}::uuid, ${s.deliveryAddress.id}::uuid, ${s.paymentMethod},
                ${s.orderStatus}, ${s.sagaStatus}, ${s.sagaDeadline}::timestamptz, ${s.totalCents}, ${requestFingerprint},
                ${order.version}, ${s.createdAt}::timestamptz)
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
        ${this.eventRows(events, sql`EXISTS (SELECT 1 FROM inserted)`)}
      )
      SELECT count(*)::int AS inserted FROM inserted`);
    if (!result || result.inserted === 0) return false;
    this.wakeRelayIfReady(unit, events);
    return true;
  }

  /**
   * Loads an order and locks its row until the unit of work ends, so two commands on one order run one after the
   * other. One statement for the row, its user, address and lines: a saga reply runs this for every order.
   */
  async getForUpdate(unit: UnitOfWork, orderId: string): Promise<Order | undefined> {
    const [row] = await unit.read(lockOrder(orderId));
    return row && restoreLocked(row);
  }

  /**
   * getForUpdate, with one data-modifying statement made in the same round trip (the inbox row of the message
   * being applied): its first returned row, if any, and the locked order, if it exists. The two parts touch
   * different rows; two deliveries of one message that take them in opposite orders deadlock, and the unit of work
   * runs the loser again (src/platform/database/database.ts). Prepared when `write` is (one name per write).
   */
  async getForUpdateWith<Written>(unit: UnitOfWork, orderId: string, write: Sql<Written>): Promise<{ order: Order | undefined; written: Written | undefined }> {
    const statement = sql<LockedOrderRow & { written: Written | null; id: string | null }>`
      WITH written AS (${write}), locked AS (${lockOrder(orderId)})
      SELECT (SELECT to_jsonb(w) FROM written w LIMIT 1) AS written, locked.*
      FROM (VALUES (1)) AS one LEFT JOIN locked ON true`;
    const [row] = await unit.write(write.preparedName ? statement.prepared(`order-lock-with-${write.preparedName}`) : statement);
    return { order: row!.id === null ? undefined : restoreLocked(row!), written: row!.written ?? undefined };
  }

  /**
   * Saves the changes of an order loaded with getForUpdate, in one statement; `alsoWrite` is one more data-modifying
   * part for that statement (the saga reply's record), so that it costs no round trip of its own. Its text must be
   * one of a few shapes: a save without new events is a prepared statement, one per shape and connection.
   * `andCommit`: the save is the unit's last statement, and commits it in the same round trip (writeAndCommit).
   */
  async save(unit: UnitOfWork, order: Order, options: { alsoWrite?: Sql; andCommit?: boolean } = {}): Promise<void> {
    const { alsoWrite, andCommit = false } = options;
    const s = order.snapshot;
    const events = order.takeEvents();
    const fate = order.heldEventsFate;
    const now = new Date();
    const parts: Sql[] = [
      sql`updated AS (
        UPDATE orders
        SET saga_status = ${s.sagaStatus}, saga_ended_at = ${s.sagaEndedAt}::timestamptz, deleted_at = ${s.deletedAt}::timestamptz,
            last_event_sequence = ${order.version}
        WHERE id = ${s.id}::uuid)`,
    ];
    if (events.length > 0) parts.push(sql`new_events AS (${this.eventRows(events)})`);
    if (fate === 'release') parts.push(sql`held AS (${releaseHeldRows(s.id, now, currentTraceCarrier())})`);
    if (fate === 'discard') parts.push(sql`held AS (${discardHeldRows(s.id)})`);
    if (alsoWrite) parts.push(sql`also AS (${alsoWrite})`);
    const statement = sql`WITH ${sql.join(parts, sql`, `)} SELECT 1`;
    // Prepared when it writes no new event rows (an approval's save: planning it took longer than running it); with
    // them, its text grows with their number.
    const toSend = events.length === 0 ? statement.preparedPerText('order-save') : statement;
    await (andCommit ? unit.writeAndCommit(toSend) : unit.write(toSend));
    if (fate === 'release') unit.afterCommit(() => this.outboxSignal.readyRowsCommitted());
    else this.wakeRelayIfReady(unit, events);
  }

  /**
   * Locks up to `limit` pending orders past their deadline, on the partial index orders_pending_saga_deadline_idx.
   * SKIP LOCKED passes over orders locked by someone else: a reply being applied right now (which then wins) or
   * another scheduler's batch, so several schedulers split the work instead of queueing behind each other.
   */
  async lockDueForTimeout(unit: UnitOfWork, now: Date, limit: number): Promise<string[]> {
    const rows = await unit.read(sql<{ id: string }>`
      SELECT id FROM orders
      WHERE saga_status = ${SagaStatus.Pending} AND saga_deadline <= ${now}::timestamptz
      ORDER BY saga_deadline
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`);
    return rows.map((row) => row.id);
  }

  private eventRows(events: SequencedEvent<OrderEvent>[], onlyIf?: Sql): Sql {
    const entries = events.map<OutboxEntry>(({ event, sequence }) => ({ event, exchange: ORDERS_EXCHANGE, ...ORDER_EVENT_ROUTES[event.eventType], sequence }));
    return insertRows(entries, { correlationId: currentCorrelationId() ?? null, trace: currentTraceCarrier() }, new Date(), onlyIf);
  }

  /** In-process wake-up of the relay once rows it may publish have committed (relays elsewhere: OutboxNotifier). */
  private wakeRelayIfReady(unit: UnitOfWork, events: SequencedEvent<OrderEvent>[]): void {
    if (events.some(({ event }) => ORDER_EVENT_ROUTES[event.eventType].status === OutboxStatus.Ready)) {
      unit.afterCommit(() => this.outboxSignal.readyRowsCommitted());
    }
  }
}

/** The order, its user, address and lines in one row, the order row locked until the unit of work ends. */
function lockOrder(orderId: string): Sql<LockedOrderRow> {
  return sql<LockedOrderRow>`
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
}

function restoreLocked(row: LockedOrderRow): Order {
  return Order.restore(
    {
      id: row.id,
      serialNumber: row.serialNumber,
      client: { id: row.userId, username: row.username },
      deliveryAddress: { id: row.deliveryAddressId, fullAddress: fullAddress(row.address) },
      paymentMethod: row.paymentMethod,
      orderStatus: 'New',
      sagaStatus: row.sagaStatus,
      sagaDeadline: row.sagaDeadline,
      sagaEndedAt: row.sagaEndedAt,
      lines: row.lines ?? [],
      totalCents: row.totalCents,
      createdAt: row.createdAt,
      deletedAt: row.deletedAt,
    },
    row.lastEventSequence,
  );
}
