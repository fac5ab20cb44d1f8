import { describe, expect, it } from 'vitest';
import { integerArray } from '../../src/platform/database/array-parameter.js';

describe('an array of integers as one PostgreSQL array literal', () => {
  it('when given integers (none, one, several, negative, the largest safe one), then they are joined between braces', () => {
    expect(integerArray([])).toBe('{}');
    expect(integerArray([7])).toBe('{7}');
    expect(integerArray([1, 22, -3, Number.MAX_SAFE_INTEGER])).toBe(`{1,22,-3,${Number.MAX_SAFE_INTEGER}}`);
  });

  it('when an element is not a safe integer, then nothing is built and the error names it', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1}' as unknown as number]) {
      expect(() => integerArray([1, bad])).toThrow(new RegExp(`${String(bad).replace(/[.+}]/g, '\\$&')} is not a safe integer`));
    }
  });
});
