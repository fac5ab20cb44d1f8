import fc from 'fast-check';

/** Where an id or name in a generated request comes from when it is sent: the live catalogue of the test. */
export type Pool = 'product' | 'productName' | 'upperProductName' | 'address' | 'user' | 'order' | 'pendingOrder' | 'approvedOrder';
export interface Ref {
  ref: Pool;
  pick: number;
  upper: boolean;
}

/**
 * A JSON value to render as text. `raw` is literal JSON text (numbers JSON.stringify cannot write, such as
 * 1e400); `entries` keeps key order and duplicate keys; a Ref becomes a string from the catalogue.
 */
export type Value = { json: unknown } | { raw: string } | Ref | { list: Value[] } | { entries: [string, Value][] };

export const json = (v: unknown): Value => ({ json: v });

export function renderValue(value: Value, resolve: (ref: Ref) => string): string {
  if ('json' in value) return JSON.stringify(value.json) ?? 'null';
  if ('raw' in value) return value.raw;
  if ('ref' in value) return JSON.stringify(resolve(value));
  if ('list' in value) return `[${value.list.map((item) => renderValue(item, resolve)).join(',')}]`;
  return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${renderValue(item, resolve)}`).join(',')}}`;
}

export const ref = (pool: Pool): fc.Arbitrary<Ref> => fc.record({ ref: fc.constant(pool), pick: fc.nat(), upper: fc.boolean() });

/** Header text as a client may send it: printable ASCII, Latin-1 and tabs. */
export const HEADER_TEXT = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(9)).map((c) => String.fromCharCode(c)), maxLength: 300 });

/** A fresh UUID, sometimes upper-case (the contract accepts both). */
export const freshUuid = fc.tuple(fc.uuid(), fc.boolean()).map(([id, upper]) => (upper ? id.toUpperCase() : id));

/** The same key as the schema spells it, lower-case, upper-case, or mixed. */
export function casedKey(key: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(key) },
    fc.constant(key.toLowerCase()),
    fc.constant(key.toUpperCase()),
    fc.array(fc.boolean(), { minLength: key.length, maxLength: key.length }).map((flips) => [...key].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join('')),
  );
}

/** Printable text of any script, never blank and never holding NUL (which no text column can store). */
export const text = (maxLength = 40): fc.Arbitrary<string> =>
  fc
    .tuple(fc.constantFrom('A', 'z', 'Ж', 'É', '東', '😀', '7'), fc.oneof(fc.string({ maxLength }), fc.string({ unit: 'grapheme', maxLength })))
    .map(([first, rest]) => `${first}${rest.replaceAll('\u0000', '')}`);

/** A text that starts with an upper-case letter, as a new product name must. */
export const upperText = fc.tuple(fc.constantFrom('A', 'Q', 'Ж', 'É', 'Ω'), text(30)).map(([first, rest]) => `${first}${rest}`);

const loneSurrogates = fc.constantFrom('\ud800', 'a\udfffb', '\udbff\udbff');
const oddStrings = fc.oneof(
  fc.constantFrom('', ' ', '\t\n', '\u0000', 'a\u0000b', '\u202e\u202d', '\ufeff', 'null', 'undefined', 'NaN', '0', '-1', '1e400', '\\', '"', "'; DROP TABLE products; --"),
  loneSurrogates,
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.nat({ max: 3 }).map((k) => ['é', '😀', 'x', 'ж'][k]!.repeat(3000)),
  fc.string({ unit: 'grapheme', minLength: 400, maxLength: 3000 }),
);

/** Numbers as literal JSON text, including forms JSON.stringify never writes and values out of every range. */
export const oddNumbers = fc.constantFrom(
  '0', '-0', '-1', '1.5', '0.001', '1.005', '99.999', '1.234', '1e-7', '1E2', '0.1e1', '1e308', '1e400', '-1e400',
  '100', '101', '2147483647', '2147483648', '-2147483649', '4294967296', '9007199254740991', '9007199254740993',
  '123456789012345678901234567890', '1000000000.01', '10000000000', '0.000000000000000000001', '5e-324',
);

/** Any value where a field expects something else: wrong types, odd numbers and strings, null, nesting. */
export const wrongValue: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(json(null), json(true), json(false), json({}), json([]), json([null]), json({ nested: { deeper: [1, 'two'] } })),
  oddNumbers.map((raw): Value => ({ raw })),
  oddStrings.map(json),
  fc.jsonValue({ maxDepth: 3 }).map(json),
  fc.uuid().map((id) => json([id])),
  fc.uuid().map((id) => json({ id })),
  fc.nat({ max: 60 }).map((depth): Value => ({ raw: `${'['.repeat(depth)}1${']'.repeat(depth)}` })),
);

/** A field of a body: its schema spelling, the values a valid request may send, and values that break only it. */
export interface Field {
  key: string;
  valid: fc.Arbitrary<Value>;
  wrong?: fc.Arbitrary<Value>;
}

/** A body the contract accepts: every field present, keys in any casing and order, unknown keys ignored. */
export function validBody(fields: Field[]): fc.Arbitrary<Value> {
  return fc
    .tuple(
      fc.tuple(...fields.map((field) => fc.tuple(casedKey(field.key), field.valid))),
      fc.array(fc.tuple(fc.constantFrom('extra', 'id', 'Ignored Key', '', 'constructor', 'toString', '__proto__'), fc.jsonValue({ maxDepth: 2 })), { maxLength: 2 }),
    )
    .chain(([known, extra]) => fc.shuffledSubarray([...known, ...extra.map(([k, v]): [string, Value] => [k, json(v)])], { minLength: known.length + extra.length }))
    .map((entries) => ({ entries }));
}

/** A valid body with exactly one thing wrong: a field missing, wrong, or repeated in another casing with a wrong value. */
export function nearValidBody(fields: Field[]): fc.Arbitrary<Value> {
  return fc.tuple(validBody(fields), fc.nat({ max: fields.length - 1 }), fc.constantFrom('replace', 'drop', 'duplicate'), fc.boolean()).chain(([body, index, how, before]) => {
    const field = fields[index]!;
    const entries = (body as { entries: [string, Value][] }).entries;
    const at = entries.findIndex(([key]) => key.toLowerCase() === field.key.toLowerCase());
    const bad = field.wrong ? fc.oneof(field.wrong, wrongValue) : wrongValue;
    return fc.tuple(bad, casedKey(field.key)).map(([value, key]): Value => {
      const copy = [...entries];
      if (how === 'drop') copy.splice(at, 1);
      else if (how === 'replace') copy[at] = [copy[at]![0], value];
      else copy.splice(before ? at : at + 1, 0, [key === copy[at]![0] ? key.toUpperCase() : key, value]);
      return { entries: copy };
    });
  });
}
