import { describe, expect, it } from 'vitest';
import { parseSagaReply } from '../../src/orders/saga/saga-reply.js';

const id = '3F2C6A7E-0B1D-4C6E-9A51-2F0E8D4B7C11';

describe('parsing a saga reply', () => {
  it('when the body is the plain JSON object, then it gives the order id in lower case and the decision', () => {
    expect(parseSagaReply(Buffer.from(JSON.stringify({ orderID: id, orderType: 'Approved' })))).toEqual({
      ok: true,
      reply: { orderId: id.toLowerCase(), decision: 'Approved' },
    });
  });

  it('when the body is a JSON string holding the object, then it is read the same way', () => {
    const body = JSON.stringify(JSON.stringify({ orderID: id, orderType: 'Rejected' }));
    expect(parseSagaReply(body)).toMatchObject({ ok: true, reply: { decision: 'Rejected' } });
  });

  it('when keys and the order type come in any case, then they match', () => {
    for (const body of [{ OrderID: id, ORDERTYPE: 'APPROVED' }, { orderid: id, ordertype: 'approved' }, { ORDERID: id, OrderType: 'aPpRoVeD' }]) {
      expect(parseSagaReply(JSON.stringify(body))).toMatchObject({ ok: true, reply: { decision: 'Approved' } });
    }
  });

  it('when a key comes in two casings, then the contract spelling wins', () => {
    const body = `{"ORDERTYPE": "Rejected", "orderType": "Approved", "orderID": "${id}"}`;
    expect(parseSagaReply(body)).toMatchObject({ ok: true, reply: { decision: 'Approved' } });
  });

  it('when unknown keys come along, then they are ignored', () => {
    expect(parseSagaReply(JSON.stringify({ orderID: id, orderType: 'Rejected', note: 'x' }))).toMatchObject({ ok: true });
  });

  it.each([
    ['not json', 'malformed_json'],
    ['', 'malformed_json'],
    ['{"orderID": ', 'malformed_json'],
    ['"not json inside a string"', 'malformed_json'],
    ['[1, 2]', 'not_an_object'],
    ['42', 'not_an_object'],
    ['null', 'not_an_object'],
    ['{"orderType": "Approved"}', 'invalid_order_id'],
    ['{"orderID": "42", "orderType": "Approved"}', 'invalid_order_id'],
    ['{"orderID": 42, "orderType": "Approved"}', 'invalid_order_id'],
    [`{"orderID": "${id}"}`, 'unknown_order_type'],
    [`{"orderID": "${id}", "orderType": "Maybe"}`, 'unknown_order_type'],
    [`{"orderID": "${id}", "orderType": true}`, 'unknown_order_type'],
  ])('when the body is %j, then it is refused as %s', (body, problem) => {
    expect(parseSagaReply(body)).toMatchObject({ ok: false, problem });
  });

  it('when the orderType is an object whose toString is no function, or an array nested 20,000 deep, then it is unknown_order_type for that order, the value shown as far as it can be', () => {
    expect(parseSagaReply(`{"orderID": "${id}", "orderType": {"toString": 0}}`)).toEqual({ ok: false, problem: 'unknown_order_type', detail: '{"toString":0}', orderId: id.toLowerCase() });
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(parseSagaReply(`{"orderID": "${id}", "orderType": ${deep}}`)).toEqual({ ok: false, problem: 'unknown_order_type', detail: '(an array too deeply nested to show)', orderId: id.toLowerCase() });
    expect(parseSagaReply(`{"orderID": {"toString": 0}, "orderType": "Approved"}`)).toMatchObject({ ok: false, problem: 'invalid_order_id', detail: '{"toString":0}' });
  });
});
