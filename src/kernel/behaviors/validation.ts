import type { z } from 'zod';
import type { Behavior } from '../mediator.js';
import { ValidationError } from '../errors.js';

/** Parses the payload with the message's zod schema; handlers only ever see valid, typed payloads. */
export function validationBehavior(): Behavior {
  return async (envelope, next) => {
    const result = envelope.context.type.schema.safeParse(envelope.payload);
    if (!result.success) throw toValidationError(result.error, envelope.payload);
    const nul = pathToNul(result.data);
    if (nul) throw new ValidationError(`${nul.join('.')}: must not contain the NUL character (U+0000)`, String(valueAt(result.data, nul)));
    return next({ ...envelope, payload: result.data });
  };
}

/** The first issue, phrased for a client: which field and what is wrong, with the offending value as data. */
export function toValidationError(error: z.ZodError, input: unknown): ValidationError {
  const issue = error.issues[0]!;
  const field = issue.path.join('.');
  const value = valueAt(input, issue.path);
  const data = value === undefined ? field : typeof value === 'string' ? value : safeJson(value);
  return new ValidationError(field ? `${field}: ${issue.message}` : issue.message, data);
}

/** Where a string holding U+0000 sits in a payload: no PostgreSQL text column can store one. */
function pathToNul(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = pathToNul(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** The value as JSON for the error's data (which ApplicationError cuts short); nesting is bounded by the HTTP layer. */
function safeJson(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
