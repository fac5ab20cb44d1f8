import fc from 'fast-check';
import { casedKey, json, ref, wrongValue, type Ref, type Value } from './fuzz-values.js';

/**
 * One generated message for CustomerSaga and what CONTRACT.md says must become of it:
 * - apply: a reply for a pending order; the order ends Approved or Rejected (one of the decisions it was sent);
 * - ack: a well-formed reply for an order whose saga already ended; nothing changes, nothing is dead-lettered;
 * - dead: anything else; it ends in CustomerSaga.dead with a reason (the expected one when `reason` is set).
 * Refs: `pendingOrder` picks one of the batch's pending orders, `order` one whose saga ended.
 */
export interface FuzzReply {
  expect: 'apply' | 'ack' | 'dead';
  reason?: string;
  body: { value: Value; wrap: number } | { text: string } | { bytes: Uint8Array } | { padded: number };
  /** The decision of a well-formed reply, to check the order's final state. */
  decision?: 'Approved' | 'Rejected';
  target?: Ref;
  route: 'queue' | 'exchange';
  routingKey: string;
  /** 'shared': one id for every such reply of the batch, whatever they say (a publisher that reuses ids). */
  messageId: 'unique' | 'none' | 'empty' | 'too-long' | 'nul' | 'control' | 'shared';
  contentType: string | null;
  correlationId: string | null;
  /** Who publishes: the service's user, or another RabbitMQ user, setting user_id to itself or not. */
  publisher: 'service' | 'stranger-with-user-id' | 'stranger';
  /** Long enough that nothing expires before the consumer reads it. */
  expiration: string | null;
  priority: number | null;
  headers: 'none' | 'huge' | 'binary' | 'many';
}

const decision = fc.constantFrom<'Approved' | 'Rejected'>('Approved', 'Rejected');

/** {orderID, orderType} with keys in any casing and order, unknown keys beside them. */
function replyObject(orderId: fc.Arbitrary<Value>, orderType: fc.Arbitrary<Value | undefined>): fc.Arbitrary<Value> {
  return fc
    .tuple(casedKey('orderID'), orderId, casedKey('orderType'), orderType, fc.array(fc.tuple(fc.constantFrom('reason', 'customerID', 'eventType', ''), fc.jsonValue({ maxDepth: 2 })), { maxLength: 2 }))
    .chain(([idKey, id, typeKey, type, extra]) => {
      const entries: [string, Value][] = [[idKey, id], ...(type === undefined ? [] : [[typeKey, type] as [string, Value]]), ...extra.map(([k, v]): [string, Value] => [k, json(v)])];
      return fc.shuffledSubarray(entries, { minLength: entries.length }).map((shuffled): Value => ({ entries: shuffled }));
    });
}

const notADecision = fc
  .oneof(wrongValue, fc.constantFrom('Maybe', 'Approve', 'Reject', 'Approved ', ' Rejected', 'Canceled', 'Pending', '').map(json))
  .filter((value) => !('json' in value && typeof value.json === 'string' && ['approved', 'rejected'].includes(value.json.toLowerCase())));
const notAnOrderId = fc.oneof(
  wrongValue,
  fc.uuid().map((id) => json(`${id} `)),
  fc.uuid().map((id) => json(id.replaceAll('-', ''))),
  fc.uuid().map((id) => json({ orderID: id })),
);

type Shape = Pick<FuzzReply, 'expect' | 'reason' | 'body' | 'decision' | 'target'>;

const shapes: fc.Arbitrary<Shape>[] = [
  // Well-formed replies for pending orders, plain or as the JSON string the old clients send.
  fc.tuple(ref('pendingOrder'), decision, fc.nat({ max: 1 })).chain(([target, d, wrap]) =>
    replyObject(fc.constant(target), fc.constant(json(d))).map((value): Shape => ({ expect: 'apply', body: { value, wrap }, decision: d, target })),
  ),
  // Well-formed replies for orders whose saga ended: acknowledged, nothing changes.
  fc.tuple(ref('order'), decision).chain(([target, d]) => replyObject(fc.constant(target), fc.constant(json(d))).map((value): Shape => ({ expect: 'ack', body: { value, wrap: 0 }, target }))),
  // A real pending order with an orderType that is not a decision, or none: dead, and the order stays pending.
  fc.tuple(ref('pendingOrder'), fc.option(notADecision, { nil: undefined })).chain(([target, type]) =>
    replyObject(fc.constant(target), fc.constant(type)).map((value): Shape => ({ expect: 'dead', reason: 'unknown_order_type', body: { value, wrap: 0 } })),
  ),
  // A missing, mistyped or malformed orderID.
  fc.tuple(fc.option(notAnOrderId, { nil: undefined }), decision).chain(([id, d]) =>
    (id === undefined ? fc.constant<Value>({ entries: [['orderType', json(d)]] }) : replyObject(fc.constant(id), fc.constant(json(d)))).map(
      (value): Shape => ({ expect: 'dead', reason: 'invalid_order_id', body: { value, wrap: 0 } }),
    ),
  ),
  // An order nobody knows, also as a JSON string, also with a body of about a megabyte.
  fc.tuple(fc.uuid(), decision, fc.nat({ max: 1 })).chain(([id, d, wrap]) =>
    replyObject(fc.constant(json(id)), fc.constant(json(d))).map((value): Shape => ({ expect: 'dead', reason: 'unknown_order', body: { value, wrap } })),
  ),
  // Bodies up to several MB: over MAX_MESSAGE_BYTES (256 KiB) they are too_large whatever they say.
  fc.integer({ min: 100_000, max: 3_500_000 }).map((padded): Shape => ({ expect: 'dead', reason: 'unknown_order', body: { padded } })),
  // Bodies that are not JSON at all, or JSON that is not an object.
  fc.constantFrom('', ' ', '{', '{"orderID": "', "{'orderID': 1}", '{orderID: 1}', 'Approved', '\u0000', '{"a":1}}', 'nul', '[1,').map((text): Shape => ({ expect: 'dead', reason: 'malformed_json', body: { text } })),
  fc.integer({ min: 100_000, max: 1_500_000 }).map((n): Shape => ({ expect: 'dead', reason: 'malformed_json', body: { text: `{"orderID": "${'x'.repeat(n)}` } })),
  fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }))).map((v): Shape => ({ expect: 'dead', reason: 'not_an_object', body: { value: json(v), wrap: 0 } })),
  fc.uint8Array({ maxLength: 300 }).map((bytes): Shape => ({ expect: 'dead', body: { bytes } })),
  fc.string({ unit: 'binary', maxLength: 100 }).map((text): Shape => ({ expect: 'dead', body: { value: json(text), wrap: 0 } })),
  // A reply for a pending order wrapped twice: only one level of JSON string is accepted.
  fc.tuple(ref('pendingOrder'), decision).chain(([target, d]) => replyObject(fc.constant(target), fc.constant(json(d))).map((value): Shape => ({ expect: 'dead', body: { value, wrap: 2 } }))),
];

export const fuzzReply: fc.Arbitrary<FuzzReply> = fc
  .record({
    // About a third well-formed (applied or acknowledged), the rest spread over the kinds of poison.
    shape: fc.oneof({ weight: 4, arbitrary: shapes[0]! }, { weight: 2, arbitrary: shapes[1]! }, ...shapes.slice(2).map((arbitrary) => ({ weight: 1, arbitrary }))),
    route: fc.constantFrom<'queue' | 'exchange'>('queue', 'exchange'),
    routingKey: fc.constantFrom('Customer.Saga.Reply', 'Customer.Saga.Approved', 'Customer.Saga.x'),
    messageId: fc.constantFrom<FuzzReply['messageId']>('unique', 'unique', 'unique', 'none', 'empty', 'too-long', 'nul', 'control', 'shared'),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', null),
    correlationId: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }))),
    publisher: fc.constantFrom<FuzzReply['publisher']>('service', 'service', 'stranger-with-user-id', 'stranger'),
    expiration: fc.option(fc.integer({ min: 600_000, max: 86_400_000 }).map(String), { freq: 2 }),
    priority: fc.option(fc.integer({ min: 0, max: 255 }), { freq: 2 }),
    headers: fc.constantFrom<FuzzReply['headers']>('none', 'none', 'huge', 'binary', 'many'),
  })
  .map(({ shape, ...rest }) => ({ ...shape, ...rest }));
