/**
 * An array of integers as one PostgreSQL array literal ('{1,2,3}'), for a parameter the statement casts
 * (`${integerArray(ids)}::bigint[]`). pg turns a JS array into the same text, but quotes every element and escapes
 * it with two regular expressions: for the relay's lists of up to 2,500 row ids, twice a batch, that was a tenth
 * of what the relay process allocated per row. The literal is a value, never SQL text; anything but a safe integer
 * is refused rather than sent.
 */
export function integerArray(values: readonly number[]): string {
  for (const value of values) {
    if (!Number.isSafeInteger(value)) throw new TypeError(`integerArray: ${String(value)} is not a safe integer`);
  }
  return `{${values.join(',')}}`;
}
