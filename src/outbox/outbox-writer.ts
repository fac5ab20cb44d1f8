import { inject, injectable } from 'tsyringe';
import { Prisma } from '../generated/prisma/client.js';
import { TOKENS } from '../tokens.js';
import type { DomainEvent } from '../kernel/aggregate-root.js';
import { onCommit } from '../platform/database/transaction-context.js';
import { currentCorrelationId } from '../platform/observability/correlation.js';
import type { OutboxSignal } from './outbox-signal.js';
import { OutboxStatus } from './outbox-status.js';

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
  return {
    eventID: event.eventId,
    eventType: event.eventType,
    eventTimeStamp: event.occurredAt.toISOString(),
    orderID: event.aggregateId,
    ...event.payload,
  };
}

/**
 * The outbox's SQL for a command's writes: events as rows, and the fate of held rows. Each method returns a
 * statement for the repository to embed in its own one (a CTE part), so that an aggregate's changes and its
 * events are written by one statement, inside the command's unit of work; never outside one.
 */
@injectable()
export class OutboxWriter {
  constructor(@inject(TOKENS.OutboxSignal) private readonly signal: OutboxSignal) {}

  /**
   * The INSERT of the entries' rows. With `onlyWith`, the name of a CTE in the same statement, the rows are
   * written only if it returned a row. Wakes the relay after commit when a row is Ready. All rows in one
   * statement, in raw SQL: this runs for every order created, and Prisma's createMany spent more CPU building
   * the query than PostgreSQL spent running it.
   */
  insertStatement(entries: OutboxEntry[], onlyWith?: string): Prisma.Sql {
    const correlationId = currentCorrelationId() ?? null;
    const readyAt = new Date();
    if (entries.some((entry) => entry.status === OutboxStatus.Ready)) this.wakeRelayAfterCommit();
    return Prisma.sql`
      INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, correlation_id, status, ready_at)
      SELECT e.event_id, e.aggregate_id, e.sequence, e.exchange, e.routing_key, e.event_type, e.payload, ${correlationId}, e.status,
             CASE WHEN e.status = 'Ready' THEN ${readyAt}::timestamptz END
      FROM unnest(${entries.map((e) => e.event.eventId)}::uuid[], ${entries.map((e) => e.event.aggregateId)}::uuid[],
                  ${entries.map((e) => e.sequence)}::int[], ${entries.map((e) => e.exchange)}::text[],
                  ${entries.map((e) => e.routingKey)}::text[], ${entries.map((e) => e.event.eventType)}::text[],
                  ${entries.map((e) => JSON.stringify(messageBody(e.event)))}::jsonb[], ${entries.map((e) => e.status)}::text[])
        AS e(event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, status)
      ${onlyWith === undefined ? Prisma.empty : Prisma.sql`WHERE EXISTS (SELECT 1 FROM ${Prisma.raw(onlyWith)})`}`;
  }

  /**
   * The UPDATE that decides the fate of an aggregate's held rows, for the caller to embed in its own statement.
   * 'release' (the saga approved): they become ready, keeping their recorded sequence, and the relay is woken
   * after commit. 'discard' (the saga ended without approval): they will never be published.
   */
  heldRowsStatement(aggregateId: string, fate: 'release' | 'discard'): Prisma.Sql {
    if (fate === 'discard') {
      return Prisma.sql`UPDATE outbox SET status = ${OutboxStatus.Discarded} WHERE aggregate_id = ${aggregateId}::uuid AND status = ${OutboxStatus.Held}`;
    }
    this.wakeRelayAfterCommit();
    const now = new Date();
    return Prisma.sql`
      UPDATE outbox SET status = ${OutboxStatus.Ready}, ready_at = ${now}::timestamptz, next_attempt_at = ${now}::timestamptz
      WHERE aggregate_id = ${aggregateId}::uuid AND status = ${OutboxStatus.Held}`;
  }

  private wakeRelayAfterCommit(): void {
    onCommit(() => this.signal.readyRowsCommitted());
  }
}
