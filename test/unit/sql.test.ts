import { describe, expect, it } from 'vitest';
import { sql } from '../../src/platform/database/sql.js';

describe('SQL as data', () => {
  it('when a statement has values, then each becomes a parameter and none is written into the text', () => {
    const name = "x'; DROP TABLE orders; --";
    expect(sql`SELECT id FROM products WHERE name = ${name} AND id = ${7}`.toQuery()).toEqual({
      text: 'SELECT id FROM products WHERE name = $1 AND id = $2',
      values: [name, 7],
    });
  });

  it('when a constant is a word or a non-negative safe integer, then it is written into the text (a word as a string literal)', () => {
    expect(sql`SELECT 1 FROM outbox WHERE status = ${sql.constant('Ready')} LIMIT ${sql.constant(500)} OFFSET ${3}`.toQuery()).toEqual({
      text: `SELECT 1 FROM outbox WHERE status = 'Ready' LIMIT 500 OFFSET $1`,
      values: [3],
    });
  });

  it('when a constant is anything else, then nothing is built and the error names it', () => {
    for (const bad of ["Ready'", 'Ready; DROP TABLE outbox', '', '1abc', 'Sagas Parked', -1, 1.5, Number.NaN, 2 ** 53, { toString: () => 'Ready' }]) {
      expect(() => sql.constant(bad as string)).toThrow(/is not a word or a non-negative safe integer/);
    }
  });

  it('when a statement is prepared, then its query carries the name only where names may be used', () => {
    const statement = sql`SELECT id FROM orders WHERE id = ${'a'}`.prepared('order-by-id');
    expect(statement.toQuery(true)).toEqual({ name: 'order-by-id', text: 'SELECT id FROM orders WHERE id = $1', values: ['a'] });
    expect(statement.toQuery(false)).toEqual({ text: 'SELECT id FROM orders WHERE id = $1', values: ['a'] });
    expect(statement.toQuery()).toEqual({ text: 'SELECT id FROM orders WHERE id = $1', values: ['a'] });
    expect(statement.preparedName).toBe('order-by-id');
    expect(sql`SELECT 1`.preparedName).toBeUndefined();
  });

  it('when a statement is prepared per text, then each shape of it gets a name of its own and the same shape the same name', () => {
    const save = (traced: boolean, id: string) =>
      sql`UPDATE outbox SET status = 'Ready'${traced ? sql`, trace_parent = ${'00-ab'}` : sql.empty} WHERE id = ${id}`.preparedPerText('order-save');
    const [plain, plainAgain, traced] = [save(false, 'a').toQuery(true), save(false, 'b').toQuery(true), save(true, 'a').toQuery(true)];
    expect(plain.name).toMatch(/^order-save-[0-9a-f]{16}$/);
    expect(plainAgain.name).toBe(plain.name);
    expect(traced.name).toMatch(/^order-save-[0-9a-f]{16}$/);
    expect(traced.name).not.toBe(plain.name);
    expect(save(false, 'a').toQuery(false).name).toBeUndefined();
    expect(save(false, 'a').preparedName).toBeUndefined();
    expect(() => sql`SELECT 1`.preparedPerText('Order Save')).toThrow(/is not a statement name/);
  });

  it('when a prepared statement is inlined into another, then the outer one is sent without its name', () => {
    const inner = sql`SELECT 1 WHERE ${1} = 1`.prepared('inner');
    expect(sql`EXPLAIN ${inner}`.toQuery(true)).toEqual({ text: 'EXPLAIN SELECT 1 WHERE $1 = 1', values: [1] });
  });

  it('when a statement name is not lower-case words joined by hyphens, then it is refused', () => {
    for (const bad of ['', 'Claim', 'relay claim', 'relay"claim', '1claim']) {
      expect(() => sql`SELECT 1`.prepared(bad)).toThrow(/is not a statement name/);
    }
  });
});
