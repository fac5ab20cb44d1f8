import { afterEach, describe, expect, it } from 'vitest';
import { messageHeaders, ReusedHeaders, type HeaderSource } from '../../src/platform/messaging/publish-headers.js';
import { markTracingActive } from '../../src/platform/observability/trace-context.js';

/** What amqplib encodes of a headers object: its entries with a value, in order (it leaves undefined out). */
const sent = (headers: Record<string, unknown>) => Object.entries(headers).filter(([, value]) => value !== undefined);

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('the headers a publisher hands amqplib', () => {
  afterEach(() => markTracingActive(false));

  it('when messages follow each other with tracing off, then one object carries each, with exactly its own headers in the same order as a new object would', () => {
    const reused = new ReusedHeaders();
    const messages: HeaderSource[] = [
      { traceHeaders: { traceparent: TRACEPARENT, tracestate: 'a=1', baggage: 'k=v' }, correlationId: 'req-1', sequence: 1 },
      { correlationId: null, sequence: 2 },
      { traceHeaders: {}, correlationId: 'req-3' },
      { traceHeaders: { traceparent: TRACEPARENT }, correlationId: '', sequence: 7 },
    ];
    const first = reused.of(messages[0]!);
    for (const message of messages) {
      const headers = reused.of(message);
      expect(headers).toBe(first);
      expect(sent(headers)).toEqual(sent(messageHeaders(message)));
    }
    // Nothing of an earlier message stays behind.
    expect(sent(reused.of({ correlationId: null }))).toEqual([]);
  });

  it('when a message carries a trace header without a slot, then it gets a new object with all its headers', () => {
    const reused = new ReusedHeaders();
    const shared = reused.of({ correlationId: 'req-1', sequence: 1 });
    const message = { traceHeaders: { traceparent: TRACEPARENT, b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' }, correlationId: 'req-2', sequence: 2 };
    const headers = reused.of(message);
    expect(headers).not.toBe(shared);
    expect(sent(headers)).toEqual([['traceparent', TRACEPARENT], ['b3', message.traceHeaders.b3], ['x-correlation-id', 'req-2'], ['x-event-sequence', 2]]);
  });

  it('when tracing is on, then every message gets a new object (the amqplib instrumentation writes its own headers into it)', () => {
    const reused = new ReusedHeaders();
    markTracingActive(true);
    const first = reused.of({ correlationId: 'req-1', sequence: 1 });
    const second = reused.of({ correlationId: 'req-2', sequence: 2 });
    expect(second).not.toBe(first);
    expect(sent(first)).toEqual([['x-correlation-id', 'req-1'], ['x-event-sequence', 1]]);
  });
});
