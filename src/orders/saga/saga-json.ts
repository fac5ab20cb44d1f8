import { z } from 'zod';
import { OutboxStatus } from '../../outbox/outbox-status.js';
import type { StoredEvent } from '../../outbox/persistence/outbox-reads.js';
import type { SagaRow, StoredHistory } from '../persistence/saga-reads.js';

/**
 * The JSON of the saga routes (GET /sagas, GET /orders/:orderID/history), written only here; the zod schemas are
 * what /openapi.json documents. Times are ISO 8601 UTC; ages and retention periods are seconds.
 */

const sagaStatus = z.enum(['Pending', 'Approved', 'Rejected', 'TimedOut']);

export const sagaJson = z
  .object({
    orderID: z.string(),
    userID: z.string(),
    status: sagaStatus,
    createdAt: z.string(),
    deadline: z.string().describe('when the saga times out if the customer service has not answered'),
    endedAt: z.string().nullable(),
    ageSeconds: z.number().describe('seconds since the order was created'),
  })
  .meta({ id: 'Saga' });
export type SagaJson = z.output<typeof sagaJson>;

/** An outbox row's state in words a client reads: the stored names are the Go service's (Sagas = held). */
const EVENT_STATUS: Record<string, 'held' | 'ready' | 'published' | 'discarded' | 'parked'> = {
  [OutboxStatus.Held]: 'held',
  [OutboxStatus.Ready]: 'ready',
  [OutboxStatus.Published]: 'published',
  [OutboxStatus.Discarded]: 'discarded',
  [OutboxStatus.Parked]: 'parked',
};

const eventJson = z.object({
  sequence: z.number().int(),
  eventID: z.string(),
  eventType: z.string(),
  routingKey: z.string(),
  status: z.enum(['held', 'ready', 'published', 'discarded', 'parked']),
  recordedAt: z.string(),
  readyAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  attempts: z.number().int().describe('failed publish attempts'),
  nextAttemptAt: z.string().nullable().describe('for a ready row that failed: when it is tried again'),
  lastError: z.string().nullable(),
});

const replyJson = z.object({
  receivedAt: z.string(),
  messageId: z.string().nullable(),
  decision: z.enum(['Approved', 'Rejected']).nullable(),
  outcome: z.enum(['applied', 'ignored', 'dead_lettered']),
  reason: z.string().nullable().describe('ignored: already_approved, already_rejected, already_timed_out; dead_lettered: the dead-letter reason'),
  duplicates: z.number().int().describe('redelivered copies of this very message, recognised by the inbox'),
});

export const historyJson = z
  .object({
    orderID: z.string(),
    userID: z.string(),
    sagaStatus: sagaStatus,
    createdAt: z.string(),
    sagaDeadline: z.string(),
    sagaEndedAt: z.string().nullable(),
    deletedAt: z.string().nullable(),
    events: z.array(eventJson),
    replies: z.array(replyJson),
    timeout: z.object({ firedAt: z.string() }).nullable(),
    retention: z.object({
      eventsRecorded: z.number().int(),
      eventsShown: z.number().int().describe('fewer than recorded: published events past their retention were deleted'),
      publishedEventsKeptSeconds: z.number(),
      repliesKeptSeconds: z.number(),
      repliesRecordedPerOrder: z.number().int().describe('replies past this many are handled but not recorded'),
    }),
  })
  .meta({ id: 'OrderHistory' });
export type HistoryJson = z.output<typeof historyJson>;

export function toSagaJson(row: SagaRow, now: Date): SagaJson {
  return {
    orderID: row.orderId,
    userID: row.userId,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    deadline: row.deadline.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    ageSeconds: Math.max(0, now.getTime() - row.createdAt.getTime()) / 1000,
  };
}

export interface RetentionSettings {
  outboxRetentionMs: number;
  replyRetentionMs: number;
  repliesPerOrder: number;
}

export function toHistoryJson(history: StoredHistory, retention: RetentionSettings): HistoryJson {
  return {
    orderID: history.orderId,
    userID: history.userId,
    sagaStatus: history.status,
    createdAt: history.createdAt.toISOString(),
    sagaDeadline: history.deadline.toISOString(),
    sagaEndedAt: history.endedAt?.toISOString() ?? null,
    deletedAt: history.deletedAt?.toISOString() ?? null,
    events: history.events.map(toEventJson),
    replies: history.replies.map((reply) => ({ ...reply })),
    timeout: history.status === 'TimedOut' && history.endedAt ? { firedAt: history.endedAt.toISOString() } : null,
    retention: {
      eventsRecorded: history.eventsRecorded,
      eventsShown: history.events.length,
      publishedEventsKeptSeconds: retention.outboxRetentionMs / 1000,
      repliesKeptSeconds: retention.replyRetentionMs / 1000,
      repliesRecordedPerOrder: retention.repliesPerOrder,
    },
  };
}

function toEventJson(event: StoredEvent): HistoryJson['events'][number] {
  const status = EVENT_STATUS[event.status] ?? 'ready';
  return {
    sequence: event.sequence,
    eventID: event.eventId,
    eventType: event.eventType,
    routingKey: event.routingKey,
    status,
    recordedAt: event.recordedAt,
    readyAt: event.readyAt,
    publishedAt: event.publishedAt,
    attempts: event.attempts,
    nextAttemptAt: status === 'ready' && event.attempts > 0 ? event.nextAttemptAt : null,
    lastError: event.lastError,
  };
}
