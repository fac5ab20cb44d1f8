import { sql, type Sql } from '../../platform/database/sql.js';
import type { DomainEvent } from '../../kernel/aggregate-root.js';
import type { TraceCarrier } from '../../platform/observability/trace-context.js';
import { OutboxStatus } from '../outbox-status.js';

/**
 * The outbox statements of a command's write. They are fragments that the command's repository embeds in its own
 * statement (a CTE part), so that a change and its events are one write, inside the command's unit of work. They
 * have no side effects: waking the relay after commit is the caller's business (it knows whether rows were written).
 * Status values are parameters from OutboxStatus (the partial indexes still apply: PostgreSQL plans each statement
 * with its values).
 */

export interface OutboxEntry {
  event: DomainEvent;
  exchange: string;
  routingKey: string;
  /** Ready to publish now, or Held until the aggregate's saga releases it. */
  status: typeof OutboxStatus.Ready | typeof OutboxStatus.Held;
  /** Position among the aggregate's events: the relay publishes an aggregate's rows in this order. */
  sequence: number;
}

/** The message body as published: the event's envelope fields, then its own fields. */
export function messageBody(event: DomainEvent): Record<string, unknown> {
  return { eventID: event.eventId, eventType: event.eventType, eventTimeStamp: event.occurredAt.toISOString(), orderID: event.aggregateId, ...event.payload };
}

/** Where the rows' events come from: the work's correlation id and trace context (all null when tracing is off). */
export interface RowOrigin {
  correlationId: string | null;
  trace: TraceCarrier;
}

/**
 * The INSERT of the entries' rows, all in one statement; with `onlyIf` (a condition on the enclosing statement,
 * such as `EXISTS (SELECT 1 FROM inserted)`) only when it holds. Ready rows get ready_at now: latency is measured
 * from it. The origin's values are bound once for all rows: tracing adds no statement and no round trip.
 */
export function insertRows(entries: OutboxEntry[], origin: RowOrigin, readyAt: Date, onlyIf: Sql = sql`true`): Sql {
  const { correlationId, trace } = origin;
  return sql`
    INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, correlation_id, status, ready_at,
                        trace_parent, trace_state, baggage)
    SELECT e.event_id, e.aggregate_id, e.sequence, e.exchange, e.routing_key, e.event_type, e.payload, ${correlationId}, e.status,
           CASE WHEN e.status = ${OutboxStatus.Ready} THEN ${readyAt}::timestamptz END,
           ${trace.traceparent}::text, ${trace.tracestate}::text, ${trace.baggage}::text
    FROM unnest(${entries.map((e) => e.event.eventId)}::uuid[], ${entries.map((e) => e.event.aggregateId)}::uuid[],
                ${entries.map((e) => e.sequence)}::int[], ${entries.map((e) => e.exchange)}::text[],
                ${entries.map((e) => e.routingKey)}::text[], ${entries.map((e) => e.event.eventType)}::text[],
                ${entries.map((e) => JSON.stringify(messageBody(e.event)))}::jsonb[], ${entries.map((e) => e.status)}::text[])
      AS e(event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, status)
    WHERE ${onlyIf}`;
}

/**
 * The saga approved: the aggregate's held rows become ready, keeping their recorded sequence. With the approval's
 * trace context (when it has one) their publication continues the approval, still in the order's trace; without,
 * they keep the context of the request that recorded them.
 */
export function releaseHeldRows(aggregateId: string, now: Date, trace: TraceCarrier): Sql {
  const traced = trace.traceparent !== null;
  return sql`
    UPDATE outbox SET status = ${OutboxStatus.Ready}, ready_at = ${now}::timestamptz, next_attempt_at = ${now}::timestamptz
      ${traced ? sql`, trace_parent = ${trace.traceparent}, trace_state = ${trace.tracestate}::text, baggage = ${trace.baggage}::text` : sql.empty}
    WHERE aggregate_id = ${aggregateId}::uuid AND status = ${OutboxStatus.Held}`;
}

/** The saga ended without approval: the aggregate's held rows will never be published. */
export function discardHeldRows(aggregateId: string): Sql {
  return sql`UPDATE outbox SET status = ${OutboxStatus.Discarded} WHERE aggregate_id = ${aggregateId}::uuid AND status = ${OutboxStatus.Held}`;
}

