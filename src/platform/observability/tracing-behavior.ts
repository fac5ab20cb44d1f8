import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Behavior } from '../../kernel/mediator.js';
import { ApplicationError } from '../../kernel/errors.js';
import { isTracingActive } from './trace-context.js';

const tracer = trace.getTracer('order-service/mediator');

/**
 * Outermost: each command and query is a span ("command CreateOrder") in the trace of whatever sent it (a
 * request, a saga reply, a job), so its statements and the outbox rows it records hang under it, and its log
 * lines carry its span id. A refusal the client caused (an ApplicationError) is an outcome, not a failure of the
 * span. Without tracing it only calls next.
 */
export function tracingBehavior(): Behavior {
  return (envelope, next) => {
    if (!isTracingActive()) return next(envelope);
    const { type } = envelope.context;
    return tracer.startActiveSpan(`${type.kind} ${type.name}`, { attributes: { 'mediator.kind': type.kind, 'mediator.message_type': type.name } }, async (span) => {
      try {
        return await next(envelope);
      } catch (error) {
        if (error instanceof ApplicationError) span.setAttribute('mediator.outcome', error.kind);
        else span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error).slice(0, 200) });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
