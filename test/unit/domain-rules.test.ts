import { describe, expect, it } from 'vitest';
import { Product } from '../../src/catalog/product.js';
import { discountedCents, fromCents, toCents } from '../../src/kernel/money.js';
import { checkAddress, fullAddress } from '../../src/customers/address.js';
import { ValidationError } from '../../src/kernel/errors.js';
import { mayActForUser } from '../../src/kernel/actor.js';

const now = new Date('2026-01-01T00:00:00Z');
const product = (over: Partial<{ name: string; price: number; discount: number }> = {}) =>
  Product.create({ id: 'p', name: 'Phone', description: '', price: 90, discount: 0, ...over }, now);

describe('money', () => {
  it('when a price has at most two decimals, then it becomes exact cents', () => {
    expect(toCents(90)).toBe(9000);
    expect(toCents(19.99)).toBe(1999);
    expect(toCents(0.29)).toBe(29);
    expect(toCents(0.01)).toBe(1);
  });

  it('when a price has more than two decimals, is zero, negative or not finite, then it is refused', () => {
    // 1e-9 and 7.2e-129 (found by the fuzzer) are positive but round to 0 cents, within the decimals tolerance.
    for (const bad of [1.234, 0, -5, Number.NaN, Number.POSITIVE_INFINITY, 0.001, 1e-9, 7.246178467586389e-129]) {
      expect(() => toCents(bad)).toThrow(ValidationError);
    }
  });

  it('when a discount applies, then the price is rounded half up to a cent', () => {
    expect(discountedCents(10000, 10)).toBe(9000);
    expect(discountedCents(999, 50)).toBe(500);
    expect(discountedCents(1999, 0)).toBe(1999);
    expect(discountedCents(1, 99)).toBe(0);
    expect(fromCents(9000)).toBe(90);
    expect(fromCents(1999n)).toBe(19.99);
  });
});

describe('product', () => {
  it('when created with valid fields, then it keeps price in cents and its discount', () => {
    expect(product({ price: 19.99, discount: 15 }).snapshot).toMatchObject({ priceCents: 1999, discount: 15, name: 'Phone' });
  });

  it('when the discount is outside 0..99 or not an integer, then it is refused', () => {
    for (const discount of [-1, 100, 5.5]) expect(() => product({ discount })).toThrow(/discount/);
    expect(product({ discount: 99 }).snapshot.discount).toBe(99);
  });

  it('when the name is blank, then it is refused', () => {
    expect(() => product({ name: '  ' })).toThrow(/name must not be empty/);
  });

  it('when renamed to a name starting with an upper-case letter, then the name changes', () => {
    const p = product();
    p.rename('Tablet');
    expect(p.snapshot.name).toBe('Tablet');
    p.rename('Éclair');
    expect(p.snapshot.name).toBe('Éclair');
  });

  it('when renamed to a name not starting with an upper-case letter, then it is refused and unchanged', () => {
    const p = product();
    for (const bad of ['tablet', '1Phone', '', ' ', 'ßeta']) expect(() => p.rename(bad)).toThrow(/upper-case/);
    expect(p.snapshot.name).toBe('Phone');
  });
});

describe('address', () => {
  it('when formatted, then it reads country, city, street, building', () => {
    expect(fullAddress({ country: 'Russia', city: 'Moscow', streetName: 'Pushkina', buildingNumber: 44 })).toBe('Russia, Moscow, Pushkina, 44');
  });

  it('when the building number is not a positive integer or a name is blank, then it is refused', () => {
    const valid = { country: 'Russia', city: 'Moscow', streetName: 'Pushkina', buildingNumber: 44 };
    expect(() => checkAddress({ ...valid, buildingNumber: 0 })).toThrow(/buildingNumber/);
    expect(() => checkAddress({ ...valid, buildingNumber: 1.5 })).toThrow(/buildingNumber/);
    expect(() => checkAddress({ ...valid, city: ' ' })).toThrow(/city/);
    expect(checkAddress(valid)).toEqual(valid);
  });
});

describe('who may act for a user', () => {
  const user = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c03';
  const actor = (sub: string, scopes: string[] = []) => ({ sub, scopes: new Set(scopes) });

  it('when the actor is the user (in any case), an orders:admin, or absent (no authentication), then it may', () => {
    expect(mayActForUser(actor(user), user)).toBe(true);
    expect(mayActForUser(actor(user.toUpperCase()), user)).toBe(true);
    expect(mayActForUser(actor('someone-else', ['orders:admin']), user)).toBe(true);
    expect(mayActForUser(undefined, user)).toBe(true);
  });

  it('when the actor is another user, even with orders:read and orders:write, then it may not', () => {
    expect(mayActForUser(actor('00000000-0000-4000-8000-000000000000', ['orders:read', 'orders:write']), user)).toBe(false);
  });
});
