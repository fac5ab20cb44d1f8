import { sql, type Sql } from '../../platform/database/sql.js';

/** Reads of one aggregate's outbox rows: where its work came from, and its events for the order's history. */

export interface AggregateOrigin {
  correlationId: string | null;
  traceparent: string | null;
  tracestate: string | null;
  baggage: string | null;
}

/**
 * The correlation id and trace context of an aggregate's first event: the request that created it. A consumer
 * logs and traces a message that carries neither (a saga reply typed by hand) under them.
 */
export function firstRowOrigin(aggregateId: string): Sql<AggregateOrigin> {
  return sql`
    SELECT correlation_id AS "correlationId", trace_parent AS traceparent, trace_state AS tracestate, baggage
    FROM outbox WHERE aggregate_id = ${aggregateId}::uuid ORDER BY sequence LIMIT 1`;
}

/** An outbox row as the order's history shows it (status is the stored one; the history names it for clients). */
export interface StoredEvent {
  sequence: number;
  eventId: string;
  eventType: string;
  routingKey: string;
  status: string;
  recordedAt: string;
  readyAt: string | null;
  publishedAt: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
}

/**
 * A scalar subquery (a JSON array of StoredEvent, by sequence) for a statement of the orders module that reads
 * one order's history in one round trip; `aggregateId` is the enclosing statement's expression for the order id.
 * At most 104 rows (100 products): an order's events are bounded by its products. Times are ISO 8601 text.
 */
export function eventsOfAggregate(aggregateId: Sql): Sql {
  return sql`(
    SELECT coalesce(json_agg(json_build_object(
             'sequence', x.sequence, 'eventId', x.event_id, 'eventType', x.event_type, 'routingKey', x.routing_key,
             'status', x.status, 'recordedAt', ${isoTime(sql`x.created_at`)}, 'readyAt', ${isoTime(sql`x.ready_at`)},
             'publishedAt', ${isoTime(sql`x.published_at`)}, 'attempts', x.attempts,
             'nextAttemptAt', ${isoTime(sql`x.next_attempt_at`)}, 'lastError', left(x.last_error, 300))
           ORDER BY x.sequence), '[]'::json)
    FROM outbox x WHERE x.aggregate_id = ${aggregateId})`;
}

/** A timestamptz as ISO 8601 UTC text with milliseconds, as JavaScript's toISOString writes it. */
function isoTime(column: Sql): Sql {
  return sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
