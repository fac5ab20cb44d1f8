import { describe, expect, it } from 'vitest';
import { boundCarrier, carrierFromHeaders, carrierHeaders, MAX_BAGGAGE, NO_TRACE } from '../../src/platform/observability/trace-context.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context from untrusted text', () => {
  it('when the traceparent has the W3C form, then it is kept with its tracestate and baggage', () => {
    expect(boundCarrier({ traceparent: TRACEPARENT, tracestate: 'vendor=x', baggage: 'tenant=acme' })).toEqual({ traceparent: TRACEPARENT, tracestate: 'vendor=x', baggage: 'tenant=acme' });
  });

  it.each([
    ['upper case', TRACEPARENT.toUpperCase()],
    ['too short', TRACEPARENT.slice(0, -1)],
    ['with a line break', `${TRACEPARENT}\n`],
    ['a number', 42],
    ['missing', undefined],
  ])('when the traceparent is %s, then nothing is kept, not even the baggage', (_what, traceparent) => {
    expect(boundCarrier({ traceparent, baggage: 'tenant=acme' })).toEqual(NO_TRACE);
  });

  it('when the tracestate is longer than 512 characters, then it is dropped and the rest kept', () => {
    expect(boundCarrier({ traceparent: TRACEPARENT, tracestate: `a=${'x'.repeat(511)}` })).toEqual({ traceparent: TRACEPARENT, tracestate: null, baggage: null });
  });

  it('when the baggage is longer than its bound, then whole members are kept while they fit, never part of one', () => {
    const members = Array.from({ length: 100 }, (_, i) => `key${i}=${'v'.repeat(40)}`);
    const kept = boundCarrier({ traceparent: TRACEPARENT, baggage: members.join(',') }).baggage!;
    expect(kept.length).toBeLessThanOrEqual(MAX_BAGGAGE);
    expect(kept.split(',')).toEqual(members.slice(0, kept.split(',').length));
    expect(kept.split(',').length).toBeGreaterThan(10);
  });

  it('when one baggage member alone is over the bound, then no baggage is kept', () => {
    expect(boundCarrier({ traceparent: TRACEPARENT, baggage: `k=${'v'.repeat(MAX_BAGGAGE)}` }).baggage).toBeNull();
  });

  it('when AMQP headers carry the values as buffers, then they are read; a buffer of megabytes is not', () => {
    expect(carrierFromHeaders({ traceparent: Buffer.from(TRACEPARENT), baggage: Buffer.from('a=1') })).toEqual({ traceparent: TRACEPARENT, tracestate: null, baggage: 'a=1' });
    expect(carrierFromHeaders({ traceparent: Buffer.alloc(4_000_000, 'a') })).toEqual(NO_TRACE);
    expect(carrierFromHeaders(undefined)).toEqual(NO_TRACE);
  });

  it('when a carrier becomes headers, then only the values it has are written', () => {
    expect(carrierHeaders({ traceparent: TRACEPARENT, tracestate: null, baggage: 'a=1' })).toEqual({ traceparent: TRACEPARENT, baggage: 'a=1' });
    expect(carrierHeaders(NO_TRACE)).toEqual({});
  });
});
