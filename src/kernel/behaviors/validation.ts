import type { z } from 'zod';
import type { Behavior } from '../mediator.js';
import { ValidationError } from '../errors.js';

/** Parses the payload with the message's zod schema; handlers only ever see valid, typed payloads. */
export function validationBehavior(): Behavior {
  return async (envelope, next) => {
    const result = envelope.context.type.schema.safeParse(envelope.payload);
    if (!result.success) throw toValidationError(result.error, envelope.payload);
    envelope.payload = result.data;
    return next();
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

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function safeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
