import { z } from 'zod';
import { JsonBytes } from './json-bytes.js';

/**
 * A UUID in canonical 8-4-4-4-12 form, either case, normalised to lower case. Any version is accepted (the
 * Go service's clients send all kinds, including hand-made ones such as 00000000-0000-0000-0000-000000000001).
 */
export const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID such as 3f2c6a7e-0b1d-4c6e-9a51-2f0e8d4b7c11')
  .transform((value) => value.toLowerCase())
  .meta({ format: 'uuid', examples: ['3f2c6a7e-0b1d-4c6e-9a51-2f0e8d4b7c11'] });

/** A UUID as the service answers it: canonical and lower case. For documents of responses and events. */
export const uuidAnswer = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  .meta({ format: 'uuid', examples: ['3f2c6a7e-0b1d-4c6e-9a51-2f0e8d4b7c11'] });

/**
 * Bounds on stored text, so that no order document (its user, address and up to MAX_ORDER_PRODUCTS product
 * names) can grow past a few tens of KB, however hostile the client: README "Limits" has the arithmetic.
 */
export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 2_000;
export const MAX_ORDER_PRODUCTS = 100;

/** C0 and C1 control characters but NUL (which the validation behaviour names on its own). */
const CONTROL = /[\u0001-\u001f\u007f-\u009f]/;

/** A one-line name (product, user, street, city, country): trimmed, not empty, bounded, no control characters. */
export const label = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
  .refine((text) => !CONTROL.test(text), 'must not contain control characters (U+0001-U+001F, U+007F-U+009F)');

const MAX_LIMIT = 1000;

/** A query parameter holding a non-negative integer written in plain digits ("10", not "1e1" or "10.0"). */
const integerParam = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be an integer`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `${name} must be from ${min} to ${max}`);

/** limit (1..1000, default 1000), offset (>= 0, default 0), order (asc|desc, default asc). Anything else is a 400. */
export const listParams = z.object({
  limit: integerParam('limit', 1, MAX_LIMIT).default(MAX_LIMIT).meta({ description: `items per page, 1 to ${MAX_LIMIT} (default ${MAX_LIMIT})` }),
  offset: integerParam('offset', 0, 999_999_999).default(0).meta({ description: 'items to skip (default 0)' }),
  // Exactly `asc` or `desc`, as CONTRACT.md says; the Go service pasted this value into SQL.
  order: z.enum(['asc', 'desc'], { error: 'order must be asc or desc' }).default('asc'),
});
export type ListParams = z.output<typeof listParams>;

/** The contract's list envelope: the items under their own key, then count, total, limit, offset, order. */
export type ListPage<Key extends string, Item> = { [K in Key]: Item[] } & {
  count: number;
  total: number;
  limit: number;
  offset: number;
  order: 'asc' | 'desc';
};

export function listPage<Key extends string, Item>(key: Key, items: Item[], total: number, params: ListParams): ListPage<Key, Item> {
  return { [key]: items, count: items.length, total, limit: params.limit, offset: params.offset, order: params.order } as ListPage<Key, Item>;
}

const COMMA = Buffer.from(',');

/**
 * The list envelope around items that are already JSON (UTF-8 bytes): the same bytes as
 * JSON.stringify(listPage(...)), without parsing or decoding the items.
 */
export function listPageBytes(key: string, items: Buffer[], total: number, params: ListParams): JsonBytes {
  const tail = JSON.stringify({ count: items.length, total, limit: params.limit, offset: params.offset, order: params.order });
  const parts: Buffer[] = [Buffer.from(`{${JSON.stringify(key)}:[`)];
  for (const [index, item] of items.entries()) {
    if (index > 0) parts.push(COMMA);
    parts.push(item);
  }
  parts.push(Buffer.from(`],${tail.slice(1)}`));
  return new JsonBytes(Buffer.concat(parts));
}

/**
 * The zod schema of a list envelope, for the OpenAPI document: a named shape (ProductPage, OrderPage), so make
 * each once (ids are unique).
 */
export function listPageSchema<Key extends string>(id: string, key: Key, item: z.ZodType) {
  return z
    .object({
      [key]: z.array(item),
      count: z.number().int().min(0).meta({ description: 'items in this page' }),
      total: z.number().int().min(0).meta({ description: 'items in all pages' }),
      limit: z.number().int().min(1).max(MAX_LIMIT),
      offset: z.number().int().min(0),
      order: z.enum(['asc', 'desc']),
    })
    .meta({ id });
}
