import winston from 'winston';
import { currentActor, currentCorrelationId } from './correlation.js';
import { activeSpanIds } from './trace-context.js';

export type Logger = winston.Logger;

/**
 * The correlation id of the work that logs, the trace and span it runs in (when tracing is on: Grafana links a
 * line's trace_id to the trace), and the `sub` of its authenticated caller (never the token).
 */
const addContext = winston.format((info) => {
  const correlationId = currentCorrelationId();
  if (correlationId && info.correlationId === undefined) info.correlationId = correlationId;
  const span = activeSpanIds();
  if (span && info.trace_id === undefined) {
    info.trace_id = span.traceId;
    info.span_id = span.spanId;
  }
  const actor = currentActor();
  if (actor && info.sub === undefined) info.sub = actor.sub;
  return info;
});

/** JSON lines on stdout, one object per event, each with the correlation id (and caller) of the work that logged it. */
export function createLogger(options: { level: string; service?: string; silent?: boolean }): Logger {
  // winston formats every entry before its transports filter by level; drop disabled ones first, since
  // per-request `http` and per-query `debug` lines would otherwise be stamped and serialized for nothing.
  const enabled = winston.format((info) => (winston.config.npm.levels[info.level]! <= winston.config.npm.levels[options.level]! ? info : false));
  return winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    defaultMeta: { service: options.service ?? 'order-service', pid: process.pid },
    format: winston.format.combine(enabled(), addContext(), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
