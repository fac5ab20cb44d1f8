import { excerpt } from './excerpt.js';

/**
 * Errors that mean something to a client. The HTTP layer maps each kind to one status in one place
 * (platform/http/error-handler.ts); anything else that escapes a handler is a bug and answers 500.
 * `data` is the offending value or id, as CONTRACT.md's error body wants it. Both are cut to a short excerpt
 * here, once for every error: they go back to the client and into the logs, and a client's value may be huge.
 */
export abstract class ApplicationError extends Error {
  abstract readonly kind: 'invalid' | 'not_found' | 'conflict' | 'unavailable' | 'too_large' | 'unauthenticated' | 'forbidden' | 'rate_limited';
  readonly data: string;

  constructor(message: string, data = '') {
    super(excerpt(message, 300));
    this.data = excerpt(data);
    this.name = new.target.name;
  }
}

/** The request breaks a rule of the contract or the domain (400). */
export class ValidationError extends ApplicationError {
  readonly kind = 'invalid' as const;
}

/** A named id does not exist, or is no longer visible (404). */
export class NotFoundError extends ApplicationError {
  readonly kind = 'not_found' as const;
}

/** The request collides with existing state: duplicate id or name, an order whose state forbids the action (409). */
export class ConflictError extends ApplicationError {
  readonly kind = 'conflict' as const;
}

/** A dependency (PostgreSQL, Redis, RabbitMQ, the identity service's keys) cannot be reached now; the client may retry (503). */
export class UnavailableError extends ApplicationError {
  readonly kind = 'unavailable' as const;
}

/** The request body is larger than the configured limit (413). */
export class PayloadTooLargeError extends ApplicationError {
  readonly kind = 'too_large' as const;
}

/**
 * No valid access token (401): none was sent (`tokenGiven` false), or the one sent is malformed, expired, for
 * another issuer or audience, or not signed by the identity service. The message says which, never the token.
 */
export class UnauthenticatedError extends ApplicationError {
  readonly kind = 'unauthenticated' as const;

  constructor(
    message: string,
    readonly tokenGiven: boolean,
  ) {
    super(message, '');
  }
}

/** A valid token that does not allow this (403): it lacks `scope`, the scope that would allow it. */
export class ForbiddenError extends ApplicationError {
  readonly kind = 'forbidden' as const;

  constructor(
    message: string,
    readonly scope: string,
    /** The contract's offending value: the scope that is missing, unless a resource id says more. */
    data = scope,
  ) {
    super(message, data);
  }
}

/** The client sent more requests than its rate limit allows (429); it may try again after retryAfterSeconds. */
export class TooManyRequestsError extends ApplicationError {
  readonly kind = 'rate_limited' as const;

  constructor(readonly retryAfterSeconds: number) {
    super('too many requests, slow down', String(retryAfterSeconds));
  }
}
