import { z } from 'zod';
import { MAX_BAGGAGE, MAX_TRACESTATE, TRACEPARENT } from '../observability/trace-context.js';

/** The AMQP header in which the relay sends the outbox row's per-order sequence. */
export const SEQUENCE_HEADER = 'x-event-sequence';
/** The AMQP header that carries a correlation id from the HTTP request to every message it caused, and back. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** A correlation id the service keeps (acceptCorrelationId): short and printable; anything else is replaced. */
const correlationId = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/)
  .meta({ description: 'the correlation id of the HTTP request that caused it (its X-Request-Id); log lines of every step carry it' });

/**
 * W3C trace context headers, with the bounds trace-context.ts applies: the relay sends only values within them, and
 * a reply whose values fall outside them is still handled, its trace context dropped, never cut.
 */
const traceHeaders = {
  traceparent: z.string().regex(TRACEPARENT).optional().meta({
    description: 'W3C Trace Context: the trace of the work that caused it (sent when that work was traced, sampled or not)',
  }),
  tracestate: z.string().max(MAX_TRACESTATE).optional().meta({ description: 'W3C Trace Context vendor state; only beside a traceparent' }),
  baggage: z.string().max(MAX_BAGGAGE).optional().meta({ description: 'W3C Baggage, whole members only; only beside a traceparent' }),
};

/** The headers of every event the relay publishes (rabbitmq-publisher.ts builds them to this type). */
export const eventHeaders = z
  .object({
    [SEQUENCE_HEADER]: z.number().int().min(1).meta({
      description:
        "the event's place among its order's events: 1 OrderCreateSaga, 2..N+1 one OrderAddProduct per line, N+2 OrderCreated, then OrderDeleted or OrderCanceled. Consumers order and deduplicate by it.",
    }),
    [CORRELATION_HEADER]: correlationId.optional(),
    ...traceHeaders,
  })
  .meta({ id: 'EventHeaders' });
export type EventHeaders = z.input<typeof eventHeaders>;

/** The headers a reply to the service may carry: its correlation id is kept when short and printable, its trace context when within bounds. */
export const replyHeaders = z
  .object({
    [CORRELATION_HEADER]: correlationId.optional().meta({ description: 'optional; else the message_id or the order names the work in the logs' }),
    // A traced customer service passes the saga request's trace on; without it, the order's stored trace continues.
    ...traceHeaders,
  })
  .meta({ id: 'ReplyHeaders' });
