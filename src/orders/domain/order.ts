import { AggregateRoot } from '../../kernel/aggregate-root.js';
import { ConflictError, NotFoundError, ValidationError } from '../../kernel/errors.js';
import { discountedCents } from '../../kernel/money.js';
import { orderEvent, type CancelReason, type OrderEvent } from './order-events.js';
import { isVisibleSaga, SagaStatus, type HeldEventsFate, type PaymentMethod } from './order-status.js';

export interface OrderLine {
  productId: string;
  productName: string;
  listPriceCents: number;
  discount: number;
  /** The price the client pays for this line, fixed when the order was created. */
  actualPriceCents: number;
}

export interface OrderState {
  id: string;
  serialNumber: number;
  client: { id: string; username: string };
  deliveryAddress: { id: string; fullAddress: string };
  paymentMethod: PaymentMethod;
  orderStatus: 'New';
  sagaStatus: SagaStatus;
  sagaDeadline: Date;
  sagaEndedAt: Date | null;
  lines: OrderLine[];
  totalCents: number;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface NewOrder {
  id: string;
  serialNumber: number;
  client: { id: string; username: string };
  deliveryAddress: { id: string; fullAddress: string };
  paymentMethod: PaymentMethod;
  products: { id: string; name: string; priceCents: number; discount: number }[];
  createdAt: Date;
  sagaTimeoutMs: number;
}

/** What a saga reply did: changed the order, or nothing because the saga had already ended. */
export type SagaReplyOutcome = 'applied' | 'ignored';

/**
 * The order and its saga. Every change goes through a method here, which checks that the change may happen in
 * the current state and records the events that tell the world about it.
 */
export class Order extends AggregateRoot<OrderEvent> {
  private heldFate: HeldEventsFate | undefined;

  private constructor(
    private state: OrderState,
    storedEvents: number,
  ) {
    super(storedEvents);
  }

  /**
   * A new order waits for the customer service: the saga request goes out at once, while the events that
   * announce the order (one per product, then OrderCreated) are held until the saga approves.
   */
  static create(input: NewOrder): Order {
    if (input.products.length === 0) throw new ValidationError('an order needs at least one product', input.id);
    const lines = input.products.map<OrderLine>((product) => ({
      productId: product.id,
      productName: product.name,
      listPriceCents: product.priceCents,
      discount: product.discount,
      actualPriceCents: discountedCents(product.priceCents, product.discount),
    }));
    const totalCents = lines.reduce((sum, line) => sum + line.actualPriceCents, 0);
    const order = new Order(
      {
        id: input.id,
        serialNumber: input.serialNumber,
        client: input.client,
        deliveryAddress: input.deliveryAddress,
        paymentMethod: input.paymentMethod,
        orderStatus: 'New',
        sagaStatus: SagaStatus.Pending,
        sagaDeadline: new Date(input.createdAt.getTime() + input.sagaTimeoutMs),
        sagaEndedAt: null,
        lines,
        totalCents,
        createdAt: input.createdAt,
        deletedAt: null,
      },
      0,
    );
    order.recordCreation();
    return order;
  }

  /** An order as stored, with the number of its events that are stored (orders.last_event_sequence). */
  static restore(state: OrderState, storedEvents: number): Order {
    return new Order({ ...state, lines: state.lines.map((line) => ({ ...line })) }, storedEvents);
  }

  /** The customer service approved: the held events may now be published, in their recorded order. */
  approve(now: Date): SagaReplyOutcome {
    if (this.state.sagaStatus !== SagaStatus.Pending) return 'ignored';
    this.state = { ...this.state, sagaStatus: SagaStatus.Approved, sagaEndedAt: now };
    this.heldFate = 'release';
    return 'applied';
  }

  /** The customer service rejected: compensate by never announcing the order and telling why it is canceled. */
  reject(now: Date): SagaReplyOutcome {
    return this.cancel('Rejected', now);
  }

  /** Nobody answered before the deadline: the same compensation as a rejection. */
  timeOut(now: Date): SagaReplyOutcome {
    if (this.state.sagaStatus === SagaStatus.Pending && now < this.state.sagaDeadline) return 'ignored';
    return this.cancel('TimedOut', now);
  }

  /** Only an approved order can be deleted; a pending one must wait for its saga to end. */
  delete(now: Date): void {
    if (!this.isVisible) throw new NotFoundError('order not found', this.state.id);
    if (this.state.sagaStatus === SagaStatus.Pending) {
      throw new ConflictError('order cannot be deleted while its saga is pending', this.state.id);
    }
    this.state = { ...this.state, deletedAt: now };
    this.record(orderEvent('OrderDeleted', this.state.id, now, {}));
  }

  get isVisible(): boolean {
    return this.state.deletedAt === null && isVisibleSaga(this.state.sagaStatus);
  }

  /** Set when the saga ended during this unit of work; the repository releases or discards the held events. */
  get heldEventsFate(): HeldEventsFate | undefined {
    return this.heldFate;
  }

  get snapshot(): Readonly<OrderState> {
    return this.state;
  }

  private cancel(reason: CancelReason, now: Date): SagaReplyOutcome {
    if (this.state.sagaStatus !== SagaStatus.Pending) return 'ignored';
    this.state = { ...this.state, sagaStatus: reason, sagaEndedAt: now };
    this.heldFate = 'discard';
    this.record(orderEvent('OrderCanceled', this.state.id, now, { reason }));
    return 'applied';
  }

  private recordCreation(): void {
    const { id, client, lines, totalCents, createdAt } = this.state;
    const totalPrice = totalCents / 100;
    this.record(
      orderEvent('OrderCreateSaga', id, createdAt, { clientID: client.id, productsIDs: lines.map((l) => l.productId), totalPrice }),
    );
    let running = 0;
    for (const line of lines) {
      running += line.actualPriceCents;
      this.record(
        orderEvent('OrderAddProduct', id, createdAt, {
          clientID: client.id,
          productID: line.productId,
          productName: line.productName,
          productPrice: line.actualPriceCents / 100,
          orderPrice: running / 100,
        }),
      );
    }
    this.record(
      orderEvent('OrderCreated', id, createdAt, {
        client: { clientID: client.id, username: client.username },
        orderStatus: this.state.orderStatus,
        paymentMethod: this.state.paymentMethod,
        deliveryAddress: { addressID: this.state.deliveryAddress.id, fullAddress: this.state.deliveryAddress.fullAddress },
        serialNumber: this.state.serialNumber,
        totalPrice,
        createdAt: createdAt.toISOString(),
      }),
    );
  }
}
