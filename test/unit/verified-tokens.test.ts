import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from '../../src/platform/auth/verified-tokens.js';

const actor = (sub: string) => ({ sub, scopes: new Set(['orders:read']) });

describe('verified tokens', () => {
  it('when a verified token comes again before it expires, then its actor is remembered; from its expiry on, not', () => {
    const cache = new VerifiedTokens(10, 60_000);
    const key = VerifiedTokens.keyOf('a.b.c');
    cache.set(key, actor('alice'), 1_000_500, 1_000_000);
    expect(cache.get(key, 1_000_499)?.sub).toBe('alice');
    expect(cache.get(key, 1_000_500)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('when a token lives longer than the cache may keep it, then it is forgotten after the maximum age', () => {
    const cache = new VerifiedTokens(10, 60_000);
    const key = VerifiedTokens.keyOf('a.b.c');
    cache.set(key, actor('alice'), 10_000_000, 0);
    expect(cache.get(key, 59_999)).toBeDefined();
    expect(cache.get(key, 60_000)).toBeUndefined();
  });

  it('when the cache is full, then the oldest token is forgotten first', () => {
    const cache = new VerifiedTokens(2, 60_000);
    const [one, two, three] = ['t.1.x', 't.2.x', 't.3.x'].map(VerifiedTokens.keyOf);
    cache.set(one!, actor('1'), 50_000, 0);
    cache.set(two!, actor('2'), 50_000, 0);
    cache.set(three!, actor('3'), 50_000, 0);
    expect([one, two, three].map((key) => cache.get(key!, 1)?.sub)).toEqual([undefined, '2', '3']);
  });

  it('when two tokens differ in one character of their signature, then they are different entries', () => {
    expect(VerifiedTokens.keyOf('h.p.signatureA')).not.toBe(VerifiedTokens.keyOf('h.p.signatureB'));
  });
});
