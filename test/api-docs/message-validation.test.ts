import { randomUUID } from 'node:crypto';
import type { MessageProperties } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { publishedProblems } from '../support/message-validation.js';
import type { ObservedMessage } from '../support/asyncapi-validator.js';
import { MAX_BAGGAGE, MAX_TRACESTATE } from '../../src/platform/observability/trace-context.js';

// The check every observed message of the suite goes through (test/support/message-validation.ts) must catch a
// message /asyncapi.json does not describe, or the suite passing would prove nothing about the document.

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/test';
const orderId = randomUUID();

function message(routingKey: string, body: object | string, properties: Partial<MessageProperties> = {}, exchange = 'Orders'): ObservedMessage {
  return {
    fields: { exchange, routingKey },
    properties: { headers: {}, ...properties } as MessageProperties,
    content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

/** OrderDeleted as the relay publishes it, with its properties and headers. */
function deleted(over: { body?: object; properties?: Partial<MessageProperties>; routingKey?: string } = {}): ObservedMessage {
  const eventID = randomUUID();
  const body = { eventID, eventType: 'OrderDeleted', eventTimeStamp: '2026-11-21T05:30:00.000Z', orderID: orderId, ...over.body };
  const properties = {
    contentType: 'application/json',
    deliveryMode: 2,
    messageId: eventID,
    type: 'OrderDeleted',
    userId: 'guest',
    headers: { 'x-event-sequence': 6, 'x-correlation-id': 'req-1' },
    ...over.properties,
  };
  return message(over.routingKey ?? 'Order.Delete', body, properties);
}

describe('checking published messages against /asyncapi.json', () => {
  it('when an event is as the document says, then there is no problem', () => {
    expect(publishedProblems(deleted(), AMQP_URL)).toEqual([]);
  });

  it('when its body, type, message_id, user_id, delivery mode or sequence header is off, then each is a problem', () => {
    const problems = (over: Parameters<typeof deleted>[0]) => publishedProblems(deleted(over), AMQP_URL).join('\n');
    expect(problems({ body: { orderID: 'not-a-uuid' } })).toMatch(/payload \/orderID must match pattern/);
    expect(problems({ properties: { type: 'OrderCanceled' } })).toMatch(/type OrderCanceled is none of OrderDeleted/);
    expect(problems({ properties: { messageId: 'other' } })).toMatch(/message_id other is not the payload's eventID/);
    expect(problems({ properties: { userId: 'customer' } })).toMatch(/user_id customer, not the service's user guest/);
    expect(problems({ properties: { deliveryMode: 1 } })).toMatch(/delivery_mode 1, not 2/);
    expect(problems({ properties: { headers: { 'x-event-sequence': 0 } } })).toMatch(/headers \/x-event-sequence must be >= 1/);
    expect(problems({ routingKey: 'Order.Removed' })).toMatch(/a OrderDeleted on a routing key the document has no channel for/);
  });

  it('when an event carries W3C trace headers, then they are described: valid ones pass, ones past their bounds are problems', () => {
    const traced = (trace: Record<string, string>) =>
      publishedProblems(deleted({ properties: { headers: { 'x-event-sequence': 6, 'x-correlation-id': 'req-1', ...trace } } }), AMQP_URL).join('\n');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    expect(traced({ traceparent, tracestate: `a=${'x'.repeat(MAX_TRACESTATE - 2)}`, baggage: `k=${'v'.repeat(MAX_BAGGAGE - 2)}` })).toBe('');
    expect(traced({ traceparent: traceparent.toUpperCase() })).toMatch(/headers \/traceparent must match pattern/);
    expect(traced({ traceparent, tracestate: `a=${'x'.repeat(MAX_TRACESTATE - 1)}` })).toMatch(`headers /tracestate must NOT have more than ${MAX_TRACESTATE} characters`);
    expect(traced({ traceparent, baggage: `k=${'v'.repeat(MAX_BAGGAGE - 1)}` })).toMatch(`headers /baggage must NOT have more than ${MAX_BAGGAGE} characters`);
  });

  it('when a message is not the service\'s (a saga reply, a test\'s hand-made outbox row), then the document does not judge it', () => {
    expect(publishedProblems(message('Customer.Saga.Reply', 'not json'), AMQP_URL)).toEqual([]);
    expect(publishedProblems(message('Order.Test', { eventType: 'OrderTestEvent' }, { type: 'OrderTestEvent' }), AMQP_URL)).toEqual([]);
  });

  it('when a dead letter lacks its reason, then it is a problem; the broker\'s own dead-lettering (x-death) is described too', () => {
    const copy = { 'x-dead-letter-error': 'e', 'x-dead-letter-id': randomUUID(), 'x-dead-lettered-at': '2026-11-21T05:30:00.000Z', 'x-original-queue': 'CustomerSaga', 'x-original-exchange': '', 'x-original-routing-key': 'CustomerSaga' };
    expect(publishedProblems(message('CustomerSaga.dead', 'x', { headers: { ...copy, 'x-dead-letter-reason': 'malformed_json' } }, ''), AMQP_URL)).toEqual([]);
    expect(publishedProblems(message('CustomerSaga.dead', 'x', { headers: copy }, ''), AMQP_URL).join()).toMatch(/x-dead-letter-reason/);
    const death = { 'x-death': [{ queue: 'CustomerSaga', reason: 'rejected' as const, count: 1, exchange: '', 'routing-keys': ['CustomerSaga'], time: { '!': 'timestamp' as const, value: 1 } }] };
    expect(publishedProblems(message('CustomerSaga', 'x', { headers: death }, 'Orders.dead-letters'), AMQP_URL)).toEqual([]);
  });
});
