import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { core, tracing as sdk } from '@opentelemetry/sdk-node';
import type { Catalog } from '../support/fixtures.js';
import type { TestService } from '../support/service.js';
import type { EventTap } from '../support/event-tap.js';
import { startTracing } from '../../src/platform/observability/tracing.js';

// Tracing starts before anything imports pg, amqplib, ioredis, express or http, as main.ts does: the SDK's
// instrumentations patch those modules as they load. So everything else is imported after it, below.
const exporter = new sdk.InMemorySpanExporter();
const tracing = await startTracing({}, { exporter });
const { default: winston } = await import('winston');
const { createLogger } = await import('../../src/platform/observability/logger.js');
const { startTestService } = await import('../support/service.js');
const { expect204, orderBody, seedCatalog } = await import('../support/fixtures.js');
const { eventually, publishReply, startBackgroundRoles } = await import('../support/workload.js');
const { connectPg } = await import('../support/database.js');
const { tapEvents } = await import('../support/event-tap.js');

const lines: Record<string, unknown>[] = [];
let t: TestService;
let catalog: Catalog;
let tap: EventTap;
let stopRoles: () => Promise<void>;

beforeAll(async () => {
  // The service's own logger, writing into `lines`: trace ids come from its format.
  const logger = createLogger({ level: 'info' });
  logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }) }));
  t = await startTestService({}, { logger });
  stopRoles = await startBackgroundRoles(t);
  catalog = await seedCatalog(t, 2, [10, 20]);
  // Every message it sees, trace headers included, is checked against /asyncapi.json: reading it fails otherwise.
  tap = await tapEvents(t.amqpUrl);
});
afterAll(async () => {
  await tap?.close();
  await stopRoles?.();
  await t?.close();
  await tracing.shutdown();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * One order through the whole chain: POST with a traceparent (sampled or not) and baggage, the saga request, a
 * reply (passing the request's trace headers on, as a traced customer service does, or typed by hand without
 * any), the approval, the released events and the projection. Returns what each step left behind.
 */
async function oneOrder(flags: '01' | '00', reply: 'propagating' | 'by hand') {
  const traceId = hex(16);
  const body = orderBody(catalog);
  await expect204(t.http.post('/api/v1/orders').set('traceparent', `00-${traceId}-${hex(8)}-${flags}`).set('baggage', 'tenant=acme').send(body));
  const request = await eventually('the saga request', async () => tap.find(body.orderID, 'Order.Saga.Create'));
  // This process is instrumented too, so its publish carries the context it runs in: the saga request's (a traced
  // customer service), or none at all (a person at the management page: tracing suppressed, no header written).
  const replyContext = reply === 'propagating' ? propagation.extract(ROOT_CONTEXT, request.headers) : core.suppressTracing(ROOT_CONTEXT);
  await context.with(replyContext, () => publishReply(t, { orderID: body.orderID, orderType: 'Approved' }));
  await eventually('the projection', async () => ((await t.http.get(`/api/v1/orders/user/${catalog.userId}`)).text.includes(body.orderID) ? true : undefined));
  const released = await eventually('the released events', async () => {
    const events = tap.of(body.orderID).filter((event) => event.routingKey !== 'Order.Saga.Create');
    return events.length === catalog.products.length + 1 ? events : undefined;
  });
  const client = await connectPg(t.databaseUrl);
  const rows = (await client.query('SELECT sequence, trace_parent, baggage FROM outbox WHERE aggregate_id = $1 ORDER BY sequence', [body.orderID])).rows;
  await client.end();
  return { traceId, orderId: body.orderID, request, released, rows };
}

/** The exported spans of one trace, once the projector's spans for the released events have ended. */
async function spansOf(traceId: string, releasedIds: string[]) {
  return eventually('the projector spans', async () => {
    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    const projected = spans.filter((span) => span.name === 'Orders handle' && releasedIds.includes(String(span.attributes['messaging.message.id'])));
    return projected.length === releasedIds.length ? spans : undefined;
  });
}

describe('one trace from the request to the projection', () => {
  it('when the request is sampled and the customer service passes the trace on, then every step is a span of that one trace', async () => {
    const { traceId, request, released } = await oneOrder('01', 'propagating');
    const releasedIds = released.map((event) => event.messageId);
    const spans = await spansOf(traceId, releasedIds);
    const named = (name: string, id?: string) => spans.filter((span) => span.name === name && (id === undefined || span.attributes['messaging.message.id'] === id));

    expect(spans.some((span) => span.kind === SpanKind.SERVER && span.instrumentationScope.name.includes('instrumentation-http'))).toBe(true);
    expect(named('command CreateOrder')).toHaveLength(1);
    expect(named('outbox publish', request.messageId)).toHaveLength(1);
    expect(named('CustomerSaga handle')).toHaveLength(1);
    expect(named('command ApproveOrder')).toHaveLength(1);
    for (const id of releasedIds) {
      expect(named('outbox publish', id), `publish of ${id}`).toHaveLength(1);
      expect(named('Orders handle', id), `projection of ${id}`).toHaveLength(1);
    }
    // The chain's statements are in it too. (Redis scripts and Express handlers as well when the service runs as
    // main.ts starts it: test/operations/otlp-export.test.ts. Here vitest loads ioredis and express by file path,
    // which the ESM loader hook does not recognise as those packages; pg, amqplib and http are patched as required.)
    expect(spans.some((span) => span.instrumentationScope.name.includes('instrumentation-pg'))).toBe(true);
    // Baggage travels with the events, and the log lines of the chain carry the trace id.
    expect(released.every((event) => event.headers.baggage === 'tenant=acme')).toBe(true);
    const logged = lines.filter((line) => line.trace_id === traceId).map((line) => line.message);
    expect(logged).toEqual(expect.arrayContaining(['command CreateOrder handled', 'command ApproveOrder handled']));
    expect(lines.filter((line) => line.trace_id === traceId).every((line) => typeof line.span_id === 'string' && typeof line.correlationId === 'string')).toBe(true);
  });

  it('when the request is not sampled, then its trace id still reaches every row, message and log line, no step starts a trace of its own, and the relay links to it', async () => {
    const { traceId, request, released, rows } = await oneOrder('00', 'propagating');
    // The relay's own batch span is sampled and links to the unsampled request (it ends after the rows are marked).
    await eventually('a relay batch span linked to the request', async () =>
      exporter.getFinishedSpans().some((span) => span.name === 'outbox relay batch' && span.links.some((link) => link.context.traceId === traceId)),
    );
    expect(exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId)).toEqual([]);
    expect(rows.map((row) => row.trace_parent)).toEqual(rows.map(() => expect.stringMatching(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`))));
    for (const event of [request, ...released]) expect(event.headers.traceparent, event.routingKey).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    // Nothing of this order was published or consumed under a trace of its own.
    const ids = new Set([request.messageId, ...released.map((event) => event.messageId)]);
    const strays = exporter.getFinishedSpans().filter((span) => ['outbox publish', 'Orders handle'].includes(span.name) && ids.has(String(span.attributes['messaging.message.id'])));
    expect(strays).toEqual([]);
    expect(lines.filter((line) => line.trace_id === traceId).map((line) => line.message)).toEqual(expect.arrayContaining(['command CreateOrder handled', 'command ApproveOrder handled']));
  });

  it('when a reply is typed by hand without any header, then its handling continues the trace stored with the order', async () => {
    const { traceId, rows, released } = await oneOrder('01', 'by hand');
    const spans = await spansOf(traceId, released.map((event) => event.messageId));
    const consumer = spans.filter((span) => span.name === 'CustomerSaga handle');
    expect(consumer).toHaveLength(1);
    // Its parent is the span that recorded the order's first row (the saga request), as stored on that row.
    const storedSpanId = String(rows[0]!.trace_parent).split('-')[2];
    expect(consumer[0]!.parentSpanContext?.spanId).toBe(storedSpanId);
    expect(spans.filter((span) => span.name === 'command ApproveOrder')).toHaveLength(1);
    expect(released.every((event) => String(event.headers.traceparent).includes(traceId))).toBe(true);
  });
});
