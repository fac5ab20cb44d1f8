import { describe, expect, it } from 'vitest';
import { Order, type NewOrder } from '../../src/orders/domain/order.js';
import { ConflictError, NotFoundError } from '../../src/kernel/errors.js';

const created = new Date('2026-01-01T10:00:00.000Z');
const later = new Date('2026-01-01T10:01:00.000Z');
const newOrder = (over: Partial<NewOrder> = {}): NewOrder => ({
  id: 'o-1',
  serialNumber: 7,
  client: { id: 'u-1', username: 'test' },
  deliveryAddress: { id: 'a-1', fullAddress: 'Russia, Moscow, Pushkina, 44' },
  paymentMethod: 'Card',
  products: [
    { id: 'p-1', name: 'Phone', priceCents: 10000, discount: 10 },
    { id: 'p-2', name: 'Case', priceCents: 999, discount: 50 },
  ],
  createdAt: created,
  sagaTimeoutMs: 300_000,
  ...over,
});

describe('order creation', () => {
  it('when created, then lines keep the discounted price and the total is their sum', () => {
    const order = Order.create(newOrder());
    expect(order.snapshot.lines.map((l) => l.actualPriceCents)).toEqual([9000, 500]);
    expect(order.snapshot.totalCents).toBe(9500);
    expect(order.snapshot).toMatchObject({ orderStatus: 'New', sagaStatus: 'Pending', paymentMethod: 'Card', serialNumber: 7 });
    expect(order.snapshot.sagaDeadline).toEqual(new Date(created.getTime() + 300_000));
  });

  it('when created, then it records the saga request, one AddProduct per product with running totals, then OrderCreated', () => {
    const taken = Order.create(newOrder()).takeEvents();
    expect(taken.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    const events = taken.map((e) => e.event);
    expect(events.map((e) => e.eventType)).toEqual(['OrderCreateSaga', 'OrderAddProduct', 'OrderAddProduct', 'OrderCreated']);
    expect(events[0]!.payload).toEqual({ clientID: 'u-1', productsIDs: ['p-1', 'p-2'], totalPrice: 95 });
    expect(events[1]!.payload).toEqual({ clientID: 'u-1', productID: 'p-1', productName: 'Phone', productPrice: 90, orderPrice: 90 });
    expect(events[2]!.payload).toEqual({ clientID: 'u-1', productID: 'p-2', productName: 'Case', productPrice: 5, orderPrice: 95 });
    expect(events[3]!.payload).toEqual({
      client: { clientID: 'u-1', username: 'test' },
      orderStatus: 'New',
      paymentMethod: 'Card',
      deliveryAddress: { addressID: 'a-1', fullAddress: 'Russia, Moscow, Pushkina, 44' },
      serialNumber: 7,
      totalPrice: 95,
      createdAt: '2026-01-01T10:00:00.000Z',
    });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(4);
    expect(events.every((e) => e.aggregateId === 'o-1')).toBe(true);
  });

  it('when events were taken, then taking again gives none, and the version counts them', () => {
    const order = Order.create(newOrder());
    order.takeEvents();
    expect(order.takeEvents()).toEqual([]);
    expect(order.version).toBe(4);
  });

  it('when created without products, then it is refused', () => {
    expect(() => Order.create(newOrder({ products: [] }))).toThrow(/at least one product/);
  });
});

describe('order saga', () => {
  const pending = () => {
    const order = Order.create(newOrder());
    order.takeEvents();
    return order;
  };

  it('when approved while pending, then it is approved, releases held events and records nothing', () => {
    const order = pending();
    expect(order.approve(later)).toBe('applied');
    expect(order.snapshot.sagaStatus).toBe('Approved');
    expect(order.heldEventsFate).toBe('release');
    expect(order.takeEvents()).toEqual([]);
  });

  it('when rejected while pending, then it is invisible, discards held events and records OrderCanceled Rejected', () => {
    const order = pending();
    expect(order.reject(later)).toBe('applied');
    expect(order.isVisible).toBe(false);
    expect(order.heldEventsFate).toBe('discard');
    const [taken] = order.takeEvents();
    // The fifth event of the order: four were recorded when it was created.
    expect(taken).toMatchObject({ sequence: 5, event: { eventType: 'OrderCanceled', payload: { reason: 'Rejected' } } });
  });

  it('when the deadline passed, then timing out cancels with reason TimedOut; before it, nothing happens', () => {
    const early = pending();
    expect(early.timeOut(later)).toBe('ignored');
    expect(early.snapshot.sagaStatus).toBe('Pending');
    const late = pending();
    expect(late.timeOut(new Date(created.getTime() + 300_000))).toBe('applied');
    expect(late.takeEvents()[0]!.event).toMatchObject({ eventType: 'OrderCanceled', payload: { reason: 'TimedOut' } });
  });

  it('when a reply comes after the saga ended, then it changes nothing and records nothing', () => {
    const order = pending();
    order.approve(later);
    expect(order.reject(later)).toBe('ignored');
    expect(order.approve(later)).toBe('ignored');
    expect(order.timeOut(new Date(created.getTime() + 600_000))).toBe('ignored');
    expect(order.snapshot.sagaStatus).toBe('Approved');
    expect(order.takeEvents()).toEqual([]);
  });
});

describe('order deletion', () => {
  it('when an approved order is deleted, then it is marked deleted and records OrderDeleted', () => {
    const order = Order.create(newOrder());
    order.takeEvents();
    order.approve(later);
    order.delete(later);
    expect(order.snapshot.deletedAt).toEqual(later);
    expect(order.isVisible).toBe(false);
    expect(order.takeEvents().map((e) => e.event.eventType)).toEqual(['OrderDeleted']);
  });

  it('when the saga is pending, then deleting is a conflict', () => {
    const order = Order.create(newOrder());
    expect(() => order.delete(later)).toThrow(ConflictError);
  });

  it('when the order was already deleted or rejected, then deleting is not found', () => {
    const deleted = Order.create(newOrder());
    deleted.approve(later);
    deleted.delete(later);
    expect(() => deleted.delete(later)).toThrow(NotFoundError);
    const rejected = Order.create(newOrder());
    rejected.reject(later);
    expect(() => rejected.delete(later)).toThrow(NotFoundError);
  });
});
