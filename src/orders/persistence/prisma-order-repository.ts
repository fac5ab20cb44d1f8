import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/prisma.js';
import { reader, requireTransaction } from '../../platform/database/transaction-context.js';
import type { OutboxWriter } from '../../outbox/outbox-writer.js';
import { fullAddress } from '../../customers/address.js';
import { Order, type OrderState } from '../domain/order.js';
import type { PaymentMethod, SagaStatus } from '../domain/order-status.js';
import type { OrderEvent } from '../domain/order-events.js';
import { ORDER_EVENT_ROUTES, ORDERS_EXCHANGE } from '../messaging/order-event-routes.js';

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

  async nextSerialNumber(): Promise<number> {
    const rows = await requireTransaction().$queryRaw<{ value: bigint }[]>`
      SELECT nextval(pg_get_serial_sequence('orders', 'serial_number')) AS value`;
    return Number(rows[0]!.value);
  }

  /** The fingerprint of the request that created an order, to tell a retry from a different order under the same id. */
  async findFingerprint(orderId: string): Promise<string | undefined> {
    const row = await reader(this.database).order.findUnique({ where: { id: orderId }, select: { requestFingerprint: true } });
    return row?.requestFingerprint;
  }

  /**
   * Inserts a new order with its lines and events. Returns false, writing nothing, when an order with this id
   * already exists (also when a concurrent request created it a moment ago: ON CONFLICT waits for that one).
   */
  async insertNew(order: Order, requestFingerprint: string): Promise<boolean> {
    const tx = requireTransaction();
    const s = order.snapshot;
    const events = order.pullEvents();
    const { count } = await tx.order.createMany({
      skipDuplicates: true,
      data: [
        {
          id: s.id,
          serialNumber: BigInt(s.serialNumber),
          userId: s.client.id,
          deliveryAddressId: s.deliveryAddress.id,
          paymentMethod: s.paymentMethod,
          orderStatus: s.orderStatus,
          sagaStatus: s.sagaStatus,
          sagaDeadline: s.sagaDeadline,
          totalCents: BigInt(s.totalCents),
          requestFingerprint,
          lastEventSequence: events.length,
          createdAt: s.createdAt,
        },
      ],
    });
    if (count === 0) return false;
    await tx.orderLine.createMany({
      data: s.lines.map((line, position) => ({
        orderId: s.id,
        position,
        productId: line.productId,
        productName: line.productName,
        listPriceCents: BigInt(line.listPriceCents),
        discount: line.discount,
        actualPriceCents: BigInt(line.actualPriceCents),
      })),
    });
    await this.appendEvents(events, 0);
    this.versions.set(order, events.length);
    return true;
  }

  /** Loads an order and locks its row until the transaction ends, so two commands on one order run one after the other. */
  async getForUpdate(orderId: string): Promise<Order | undefined> {
    const tx = requireTransaction();
    const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
    if (locked.length === 0) return undefined;
    const row = await tx.order.findUniqueOrThrow({
      where: { id: orderId },
      include: { user: true, deliveryAddress: true, lines: { orderBy: { position: 'asc' } } },
    });
    const state: OrderState = {
      id: row.id,
      serialNumber: Number(row.serialNumber),
      client: { id: row.userId, username: row.user.username },
      deliveryAddress: { id: row.deliveryAddressId, fullAddress: fullAddress(row.deliveryAddress) },
      paymentMethod: row.paymentMethod as PaymentMethod,
      orderStatus: 'New',
      sagaStatus: row.sagaStatus as SagaStatus,
      sagaDeadline: row.sagaDeadline,
      sagaEndedAt: row.sagaEndedAt,
      lines: row.lines.map((line) => ({
        productId: line.productId,
        productName: line.productName,
        listPriceCents: Number(line.listPriceCents),
        discount: line.discount,
        actualPriceCents: Number(line.actualPriceCents),
      })),
      totalCents: Number(row.totalCents),
      createdAt: row.createdAt,
      deletedAt: row.deletedAt,
    };
    const order = Order.restore(state);
    this.versions.set(order, row.lastEventSequence);
    return order;
  }

  /** Saves the changes of an order loaded with getForUpdate. */
  async save(order: Order): Promise<void> {
    const version = this.versions.get(order);
    if (version === undefined) throw new Error('save() of an order that was not loaded by this repository');
    const s = order.snapshot;
    const events = order.pullEvents();
    await this.appendEvents(events, version);
    await requireTransaction().order.update({
      where: { id: s.id },
      data: { sagaStatus: s.sagaStatus, sagaEndedAt: s.sagaEndedAt, deletedAt: s.deletedAt, lastEventSequence: version + events.length },
    });
    this.versions.set(order, version + events.length);
    if (order.heldEventsFate === 'release') await this.outbox.releaseHeld(s.id);
    if (order.heldEventsFate === 'discard') await this.outbox.discardHeld(s.id);
  }

  /** Writes events as outbox rows continuing the order's sequence after `version`. */
  private appendEvents(events: OrderEvent[], version: number): Promise<void> {
    return this.outbox.append(
      events.map((event, index) => ({ event, exchange: ORDERS_EXCHANGE, ...ORDER_EVENT_ROUTES[event.eventType], sequence: version + index + 1 })),
    );
  }
}
