import { describe, expect, it } from 'vitest';
import { decide, parseSagaRequest, parseSimArgs, percentile } from '../../src/tools/customer-sim-rules.js';

const ids = Array.from({ length: 2000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

describe('customer simulator rules', () => {
  it('when the rule is approve-all, then every order is approved', () => {
    expect(ids.slice(0, 50).every((orderId) => decide({ kind: 'approve-all' }, { orderId }) === 'Approved')).toBe(true);
  });

  it('when the rule is a credit limit, then totals up to the limit are approved and above it, or unknown, rejected', () => {
    const rule = { kind: 'credit-limit', limit: 100 } as const;
    expect(decide(rule, { orderId: ids[0]!, totalPrice: 100 })).toBe('Approved');
    expect(decide(rule, { orderId: ids[0]!, totalPrice: 100.01 })).toBe('Rejected');
    expect(decide(rule, { orderId: ids[0]!, totalPrice: 0.5 })).toBe('Approved');
    expect(decide(rule, { orderId: ids[0]! })).toBe('Rejected');
  });

  it('when the rule is a percentage with a seed, then the same seed gives the same answers, in any order', () => {
    const rule = { kind: 'percent', approvePercent: 80, seed: 42 } as const;
    const first = ids.map((orderId) => decide(rule, { orderId }));
    const reversed = [...ids].reverse().map((orderId) => decide(rule, { orderId })).reverse();
    expect(reversed).toEqual(first);
    const otherSeed = ids.map((orderId) => decide({ ...rule, seed: 43 }, { orderId }));
    expect(otherSeed).not.toEqual(first);
  });

  it('when the rule is a percentage, then about that share of orders is approved', () => {
    const approved = ids.filter((orderId) => decide({ kind: 'percent', approvePercent: 80, seed: 42 }, { orderId }) === 'Approved').length;
    // 2000 draws: the share lies within 80% +- 4 points far beyond any plausible deviation of a good hash.
    expect(approved / ids.length).toBeGreaterThan(0.76);
    expect(approved / ids.length).toBeLessThan(0.84);
    expect(ids.every((orderId) => decide({ kind: 'percent', approvePercent: 0, seed: 1 }, { orderId }) === 'Rejected')).toBe(true);
    expect(ids.every((orderId) => decide({ kind: 'percent', approvePercent: 100, seed: 1 }, { orderId }) === 'Approved')).toBe(true);
  });

  it('when the order id differs only in case, then the percentile is the same', () => {
    expect(percentile(7, 'ABCDEF00-0000-4000-8000-000000000000')).toBe(percentile(7, 'abcdef00-0000-4000-8000-000000000000'));
  });

  it('when arguments are given, then each rule is read with its options, and mistakes are named', () => {
    expect(parseSimArgs(['--rule', 'approve-all'])).toEqual({ ok: true, rule: { kind: 'approve-all' } });
    expect(parseSimArgs(['--rule', 'credit-limit', '--limit', '100'])).toEqual({ ok: true, rule: { kind: 'credit-limit', limit: 100 } });
    expect(parseSimArgs(['--rule', 'percent', '--approve', '80', '--seed', '42'])).toEqual({
      ok: true,
      rule: { kind: 'percent', approvePercent: 80, seed: 42 },
    });
    expect(parseSimArgs(['--rule', 'percent', '--approve', '80'])).toMatchObject({ ok: true, rule: { seed: 0 } });
    expect(parseSimArgs([])).toMatchObject({ ok: false, error: /--rule is required/ });
    expect(parseSimArgs(['--rule', 'nope'])).toMatchObject({ ok: false, error: /unknown rule/ });
    expect(parseSimArgs(['--rule', 'credit-limit'])).toMatchObject({ ok: false, error: /--limit/ });
    expect(parseSimArgs(['--rule', 'percent', '--approve', '120'])).toMatchObject({ ok: false, error: /0 to 100/ });
    expect(parseSimArgs(['--rule', 'percent', '--approve', '50', '--seed', 'x'])).toMatchObject({ ok: false, error: /--seed/ });
    expect(parseSimArgs(['--rule', 'approve-all', '--bogus'])).toMatchObject({ ok: false });
  });

  it('when a saga request arrives, then its order id and total are read, plain or double-encoded, keys in any case', () => {
    const request = { eventType: 'OrderCreateSaga', orderID: ids[1], totalPrice: 95.5 };
    expect(parseSagaRequest(JSON.stringify(request))).toEqual({ orderId: ids[1], totalPrice: 95.5 });
    expect(parseSagaRequest(JSON.stringify(JSON.stringify(request)))).toEqual({ orderId: ids[1], totalPrice: 95.5 });
    expect(parseSagaRequest(JSON.stringify({ ORDERID: ids[1] }))).toEqual({ orderId: ids[1], totalPrice: undefined });
    expect(parseSagaRequest('nope')).toBeUndefined();
    expect(parseSagaRequest('{"totalPrice": 3}')).toBeUndefined();
  });
});
