import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ConsumeMessage } from 'amqplib';
import { contextFromCarrier, isTracingActive, type TraceCarrier } from '../observability/trace-context.js';

const tracer = trace.getTracer('order-service/messaging');

/**
 * Runs a message's handling in a CONSUMER span ("<queue> handle"; the amqplib instrumentation's own delivery span
 * is "<queue> process") whose parent is the trace the message belongs to: the one its headers
 * carry, or the one its consumer found stored for it (a reply typed by hand carries none). With a parent, the span
 * is in that trace and follows its sampling; without one it is a child of whatever is active (the amqplib
 * instrumentation's delivery span). Without tracing, the work runs as it is.
 */
export function inConsumerSpan<T>(queue: string, message: ConsumeMessage, parent: TraceCarrier, work: () => Promise<T>): Promise<T> {
  if (!isTracingActive()) return work();
  const attributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': queue,
    'messaging.rabbitmq.destination.routing_key': message.fields.routingKey.slice(0, 255),
    ...(typeof message.properties.messageId === 'string' && { 'messaging.message.id': message.properties.messageId.slice(0, 255) }),
  };
  return tracer.startActiveSpan(`${queue} handle`, { kind: SpanKind.CONSUMER, attributes }, contextFromCarrier(parent, context.active()), async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error).slice(0, 200) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks the span of the message being handled as failed, with the dead-letter reason. */
export function markDeadLettered(reason: string): void {
  trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered: ${reason}` });
}
