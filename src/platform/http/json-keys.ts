import { z } from 'zod';

/**
 * Renames the keys of a JSON body to the schema's spelling, ignoring case ("Description" -> "description",
 * "productsIds" -> "productsIDs"). When a body has the same key in two casings, the exact spelling wins.
 * Unknown keys are left for the schema to ignore.
 */
export function canonicalizeKeys(body: Record<string, unknown>, schema: z.ZodType): Record<string, unknown> {
  const canonical = canonicalKeysOf(schema);
  if (canonical.size === 0) return body;
  // No prototype: a "__proto__" key in the body stays a plain (unknown, ignored) key instead of becoming the
  // prototype that the schema would then read the fields from.
  const result: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(body)) {
    const name = canonical.get(key.toLowerCase()) ?? key;
    if (name in result && key !== name) continue;
    result[name] = value;
  }
  return result;
}

function canonicalKeysOf(schema: z.ZodType): Map<string, string> {
  const shape = schema instanceof z.ZodObject ? schema.shape : undefined;
  return new Map(Object.keys(shape ?? {}).map((key) => [key.toLowerCase(), key]));
}
