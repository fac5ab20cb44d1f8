import { context, propagation, ROOT_CONTEXT, trace, type Context, type TextMapGetter } from '@opentelemetry/api';

/**
 * W3C trace context (traceparent, tracestate, baggage) as the service keeps it beside work that continues later
 * elsewhere: on outbox rows, then as message headers. Values come from clients and other publishers, so each is
 * bounded here, once: a traceparent of the W3C form, a tracestate of at most 512 characters (W3C's own limit) and
 * a baggage of at most 2 KB of whole members (W3C allows 8 KB; an order has up to 102 rows that each keep it).
 */
export interface TraceCarrier {
  traceparent: string | null;
  tracestate: string | null;
  baggage: string | null;
}

export const NO_TRACE: TraceCarrier = Object.freeze({ traceparent: null, tracestate: null, baggage: null });

/** The carrier's fields, which are also the names of the message headers that carry them. */
export const TRACE_HEADER_NAMES: readonly string[] = ['traceparent', 'tracestate', 'baggage'] satisfies (keyof TraceCarrier)[];

export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
export const MAX_TRACESTATE = 512;
export const MAX_BAGGAGE = 2048;

/**
 * Whether this process exports traces (platform/observability/tracing.ts turns it on). Off, nothing here makes a
 * span or reads a context: the hot paths pay one boolean test, and rows and messages carry no trace context.
 */
let active = false;

export function markTracingActive(on: boolean): void {
  active = on;
}

export function isTracingActive(): boolean {
  return active;
}

/** The context of the work in progress, to store beside what it records (all null when tracing is off). */
export function currentTraceCarrier(from: Context = context.active()): TraceCarrier {
  if (!active) return NO_TRACE;
  const injected: Record<string, string> = {};
  propagation.inject(from, injected);
  return boundCarrier(injected);
}

/** A carrier read from untrusted text (headers, stored rows): what fails the bounds is dropped, never cut. */
export function boundCarrier(values: { traceparent?: unknown; tracestate?: unknown; baggage?: unknown }): TraceCarrier {
  const traceparent = text(values.traceparent);
  if (traceparent === null || !TRACEPARENT.test(traceparent)) return NO_TRACE;
  const tracestate = text(values.tracestate);
  return {
    traceparent,
    tracestate: tracestate !== null && tracestate.length <= MAX_TRACESTATE ? tracestate : null,
    baggage: boundBaggage(text(values.baggage)),
  };
}

/** A message's trace headers (AMQP header values arrive as strings or buffers). */
export function carrierFromHeaders(headers: Record<string, unknown> | undefined): TraceCarrier {
  if (!headers) return NO_TRACE;
  return boundCarrier({ traceparent: headers.traceparent, tracestate: headers.tracestate, baggage: headers.baggage });
}

/** The carrier as headers, leaving out what it does not have. */
export function carrierHeaders(carrier: TraceCarrier): Record<string, string> {
  const headers: Record<string, string> = {};
  if (carrier.traceparent) headers.traceparent = carrier.traceparent;
  if (carrier.tracestate) headers.tracestate = carrier.tracestate;
  if (carrier.baggage) headers.baggage = carrier.baggage;
  return headers;
}

/** The remote context a carrier names, on top of `base` (ROOT when the carrier has none). */
export function contextFromCarrier(carrier: TraceCarrier, base: Context = ROOT_CONTEXT): Context {
  return carrier.traceparent ? propagation.extract(base, carrier, CARRIER_GETTER) : base;
}

/** The trace id and span id of the span active now, for log lines; undefined outside any valid span. */
export function activeSpanIds(): { traceId: string; spanId: string } | undefined {
  if (!active) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

const CARRIER_GETTER: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (TRACE_HEADER_NAMES.includes(key) ? (carrier[key as keyof TraceCarrier] ?? undefined) : undefined),
};

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  // Short buffers only: a header can be megabytes, and nothing valid here is longer than the baggage limit.
  if (Buffer.isBuffer(value) && value.length <= MAX_BAGGAGE * 4) return value.toString('utf8');
  return null;
}

/** Whole list members, in order, while they fit MAX_BAGGAGE (W3C: never propagate part of a member). */
function boundBaggage(baggage: string | null): string | null {
  if (baggage === null || baggage.trim() === '') return null;
  if (baggage.length <= MAX_BAGGAGE) return baggage;
  let kept = '';
  // The cut can end inside a member; that piece never fits, since all pieces together are one character too long.
  for (const member of baggage.slice(0, MAX_BAGGAGE + 1).split(',')) {
    const next = kept === '' ? member : `${kept},${member}`;
    if (next.length > MAX_BAGGAGE) break;
    kept = next;
  }
  return kept === '' ? null : kept;
}
