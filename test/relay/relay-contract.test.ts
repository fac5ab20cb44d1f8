import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, orderCreatedFields, seedCatalog, type Catalog } from '../support/fixtures.js';
import type { OrderRepository } from '../../src/orders/persistence/order-repository.js';
import { TOKENS } from '../../src/tokens.js';
import { startRelayRole, type RunningRelay } from '../../src/composition/relay-role.js';
import { withCorrelationId } from '../../src/platform/observability/correlation.js';
import { collectEvents, type EventCollector, type ReceivedEvent } from './event-collector.js';

let t: TestService;
let catalog: Catalog;
let relay: RunningRelay;
let collector: EventCollector;

beforeAll(async () => {
  t = await startTestService();
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
  catalog = await seedCatalog(t, 2, [100, 9.99]);
  collector = await collectEvents(t.amqpUrl);
  relay = await startRelayRole(t.service);
});
afterAll(async () => {
  await relay?.stop();
  await collector?.close();
  await t.close();
});

/**
 * Ends an order's saga through the Order aggregate and its repository, in one transaction under the reply's
 * correlation id: what the saga consumer's ApproveOrder and RejectOrder do, without needing the consumer.
 */
async function endSaga(orderId: string, outcome: 'approve' | 'reject', correlationId: string): Promise<void> {
  const orders = t.service.resolve<OrderRepository>(TOKENS.OrderRepository);
  await withCorrelationId(correlationId, () =>
    t.service.database.run('transaction', async (unit) => {
      const order = (await orders.getForUpdate(unit, orderId))!;
      if (outcome === 'approve') order.approve(new Date());
      else order.reject(new Date());
      await orders.save(unit, order);
    }),
  );
}

const ofOrder = (orderId: string) => (events: ReceivedEvent[]) => events.filter((event) => event.body.orderID === orderId);

async function outboxStatuses(orderId: string): Promise<string[]> {
  const client = await connectPg(t.databaseUrl);
  const { rows } = await client.query<{ status: string }>('SELECT status FROM outbox WHERE aggregate_id = $1 ORDER BY sequence', [orderId]);
  await client.end();
  return rows.map((row) => row.status);
}

/** CONTRACT.md's message properties: persistent JSON, messageId = eventID, type = eventType, a timestamp, the correlation header. */
function expectContractProperties(event: ReceivedEvent, correlationId: string): void {
  const { properties, body } = event;
  expect(properties.contentType).toBe('application/json');
  expect(properties.deliveryMode).toBe(2);
  expect(properties.messageId).toBe(body.eventID);
  expect(properties.type).toBe(body.eventType);
  expect(properties.headers?.['x-correlation-id']).toBe(correlationId);
  // Seconds since the epoch (AMQP), not milliseconds: within a day of now either way.
  expect(Math.abs(Number(properties.timestamp) - Date.now() / 1000)).toBeLessThan(86_400);
  expect(body.eventID).toMatch(/^[0-9a-f-]{36}$/);
  expect(body.eventTimeStamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
}

describe('the relay publishes each event as CONTRACT.md says', () => {
  let approved: ReturnType<typeof orderBody>;

  it('when an order is created, then OrderCreateSaga arrives on Order.Saga.Create with its body and properties, and the held events stay unpublished', async () => {
    approved = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').set('X-Request-Id', 'req-create-contract').send(approved));
    await collector.waitFor('OrderCreateSaga', (events) => ofOrder(approved.orderID)(events).length >= 1);

    const [saga] = ofOrder(approved.orderID)(collector.events);
    expect(saga!.routingKey).toBe('Order.Saga.Create');
    expectContractProperties(saga!, 'req-create-contract');
    expect(saga!.body).toEqual({
      eventID: saga!.body.eventID,
      eventType: 'OrderCreateSaga',
      eventTimeStamp: saga!.body.eventTimeStamp,
      orderID: approved.orderID,
      clientID: catalog.userId,
      productsIDs: approved.productsIDs,
      totalPrice: 95,
    });

    // A full sweep (drain to the end) publishes nothing more: the rest is held for the saga.
    await relay.sweep();
    expect(await outboxStatuses(approved.orderID)).toEqual(['Published', 'Sagas', 'Sagas', 'Sagas']);
    expect(ofOrder(approved.orderID)(collector.events)).toHaveLength(1);
  });

  it('when the saga approves, then OrderAddProduct per product and OrderCreated arrive in order with the create request id', async () => {
    await endSaga(approved.orderID, 'approve', 'req-approve-contract');
    await collector.waitFor('the released events', (events) => ofOrder(approved.orderID)(events).length >= 4);

    const [, first, second, created] = ofOrder(approved.orderID)(collector.firstSeen());
    expect([first, second, created].map((event) => [event!.routingKey, event!.body.eventType])).toEqual([
      ['Order.AddProduct', 'OrderAddProduct'],
      ['Order.AddProduct', 'OrderAddProduct'],
      ['Order.Create', 'OrderCreated'],
    ]);
    for (const event of [first, second, created]) expectContractProperties(event!, 'req-create-contract');
    const envelope = (event: ReceivedEvent) => ({
      eventID: event.body.eventID,
      eventType: event.body.eventType,
      eventTimeStamp: event.body.eventTimeStamp,
      orderID: approved.orderID,
    });
    const [p0, p1] = catalog.products;
    expect(first!.body).toEqual({ ...envelope(first!), clientID: catalog.userId, productID: p0!.id, productName: p0!.name, productPrice: 90, orderPrice: 90 });
    expect(second!.body).toEqual({ ...envelope(second!), clientID: catalog.userId, productID: p1!.id, productName: p1!.name, productPrice: 5, orderPrice: 95 });
    expect(created!.body).toEqual({ ...envelope(created!), ...orderCreatedFields(catalog) });
    // A message can arrive before its row is marked (the mark commits after the confirm): let the relay settle.
    await relay.sweep();
    expect(await outboxStatuses(approved.orderID)).toEqual(['Published', 'Published', 'Published', 'Published']);
  });

  it('when an approved order is deleted, then OrderDeleted arrives on Order.Delete with the delete request id', async () => {
    await expect204(t.http.delete(`/api/v1/orders/${approved.orderID}`).set('X-Request-Id', 'req-delete-contract'));
    await collector.waitFor('OrderDeleted', (events) => ofOrder(approved.orderID)(events).some((event) => event.body.eventType === 'OrderDeleted'));

    const deleted = ofOrder(approved.orderID)(collector.firstSeen()).at(-1)!;
    expect(deleted.routingKey).toBe('Order.Delete');
    expectContractProperties(deleted, 'req-delete-contract');
    expect(deleted.body).toEqual({ eventID: deleted.body.eventID, eventType: 'OrderDeleted', eventTimeStamp: deleted.body.eventTimeStamp, orderID: approved.orderID });
  });

  it('when the saga rejects, then OrderCanceled with reason Rejected arrives on Order.Cancel and the held events never do', async () => {
    const rejected = orderBody(catalog);
    await expect204(t.http.post('/api/v1/orders').set('X-Request-Id', 'req-create-rejected').send(rejected));
    await collector.waitFor('OrderCreateSaga', (events) => ofOrder(rejected.orderID)(events).length >= 1);
    await endSaga(rejected.orderID, 'reject', 'req-reject-contract');
    await collector.waitFor('OrderCanceled', (events) => ofOrder(rejected.orderID)(events).some((event) => event.body.eventType === 'OrderCanceled'));
    await relay.sweep();

    const events = ofOrder(rejected.orderID)(collector.firstSeen());
    expect(events.map((event) => event.body.eventType)).toEqual(['OrderCreateSaga', 'OrderCanceled']);
    const canceled = events[1]!;
    expect(canceled.routingKey).toBe('Order.Cancel');
    expectContractProperties(canceled, 'req-reject-contract');
    expect(canceled.body).toEqual({
      eventID: canceled.body.eventID,
      eventType: 'OrderCanceled',
      eventTimeStamp: canceled.body.eventTimeStamp,
      orderID: rejected.orderID,
      reason: 'Rejected',
    });
    expect(await outboxStatuses(rejected.orderID)).toEqual(['Published', 'Discarded', 'Discarded', 'Discarded', 'Published']);
  });

  it('when events were published, then the published counter and the commit-to-confirm histogram count them', async () => {
    const text = await t.service.metrics.registry.metrics();
    const published = Number(/^outbox_published_total (\d+)/m.exec(text)?.[1]);
    expect(published).toBeGreaterThanOrEqual(7);
    expect(text).toMatch(new RegExp(`^outbox_publish_latency_seconds_count ${published}$`, 'm'));
    expect(text).toMatch(/^outbox_ready_backlog 0$/m);
    expect(text).toMatch(/^outbox_parked_rows 0$/m);
  });

  it("when batches were published, then the relay's phase times and busy seconds account for them, and its slots show while it runs", async () => {
    // Read with no batch in flight (the one-second sweep may start one): drain resolves when none is, and the
    // registry is read before any timer can start another.
    await relay.relay.drain();
    const text = await t.service.metrics.registry.metrics();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const phase = (field: 'count' | 'sum', name: string) => sample(`outbox_relay_batch_phase_seconds_${field}\\{phase="${name}"\\}`);
    // Every batch claims; those that claimed rows publish them and commit their mark (nothing failed here).
    expect(phase('count', 'publish')).toBeGreaterThanOrEqual(1);
    expect(phase('count', 'claim')).toBeGreaterThanOrEqual(phase('count', 'publish'));
    expect(phase('count', 'commit')).toBe(phase('count', 'publish'));
    // A batch's busy time runs from before its connection is taken to after its COMMIT: at least its phases.
    const phases = phase('sum', 'claim') + phase('sum', 'publish') + phase('sum', 'commit');
    expect(phases).toBeGreaterThan(0);
    expect(sample('outbox_relay_busy_seconds_total')).toBeGreaterThanOrEqual(phases);
    expect(sample('outbox_relay_batch_slots')).toBe(2);

    const second = await startRelayRole(t.service);
    expect(await t.service.metrics.outboxRelaySlots.get()).toMatchObject({ values: [{ value: 4 }] });
    await second.stop();
    expect(await t.service.metrics.outboxRelaySlots.get()).toMatchObject({ values: [{ value: 2 }] });
  });
});
