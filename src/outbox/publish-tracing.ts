import { context, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { carrierHeaders, contextFromCarrier, currentTraceCarrier, isTracingActive } from '../platform/observability/trace-context.js';
import type { PublishOutcome } from '../platform/messaging/rabbitmq-publisher.js';
import type { ClaimedRow } from './persistence/relay-cycle.js';

const tracer = trace.getTracer('order-service/outbox');

/** What a row is published with: the headers carrying its trace, the context to publish in, its span. */
export interface RowTrace {
  headers: Record<string, string>;
  context?: Context;
  span?: Span;
}

/**
 * The relay's batch span: a root of its own (a batch serves many requests), linked to the context of every row it
 * claimed, sampled or not, so the relay's work stays findable from a request whose own trace was not sampled.
 * Without tracing, the work runs as it is.
 */
export function inBatchSpan<T>(rows: ClaimedRow[], work: () => Promise<T>): Promise<T> {
  if (!isTracingActive()) return work();
  const links: Link[] = rows.flatMap((row) => {
    const spanContext = row.traceparent ? trace.getSpanContext(contextFromCarrier(row)) : undefined;
    return spanContext ? [{ context: spanContext }] : [];
  });
  return tracer.startActiveSpan('outbox relay batch', { kind: SpanKind.INTERNAL, root: true, links, attributes: { 'outbox.rows': rows.length } }, async (span) => {
    try {
      return await work();
    } finally {
      span.end();
    }
  });
}

/**
 * A row's publish: with tracing on, a PRODUCER span whose parent is the context stored on the row (the request's
 * or the approval's trace; the batch's when the row has none), and headers that carry that span on. Its sampling
 * follows the stored parent: an unsampled request stays unsampled and keeps its trace id. With tracing off, the
 * stored context is passed on as it was recorded, so a consumer that traces still joins the request's trace.
 */
export function rowTrace(row: ClaimedRow): RowTrace {
  if (!isTracingActive()) return { headers: carrierHeaders(row) };
  const parent = row.traceparent ? contextFromCarrier(row) : context.active();
  const span = tracer.startSpan(
    'outbox publish',
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.destination.name': row.exchange,
        'messaging.rabbitmq.destination.routing_key': row.routingKey,
        'messaging.message.id': row.eventId,
        'order.id': row.aggregateId,
        'outbox.sequence': row.sequence,
      },
    },
    parent,
  );
  const inSpan = trace.setSpan(parent, span);
  return { headers: carrierHeaders(currentTraceCarrier(inSpan)), context: inSpan, span };
}

/** Ends a row's span with its outcome (a row not sent, behind a failed one, ends without a status). */
export function endRowTrace(rowTrace: RowTrace | undefined, outcome: PublishOutcome | undefined): void {
  if (!rowTrace?.span) return;
  if (outcome && !outcome.ok) rowTrace.span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.reason}: ${outcome.error.slice(0, 200)}` });
  rowTrace.span.end();
}

