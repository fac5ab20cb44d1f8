import type { ErrorRequestHandler, Response } from 'express';
import { ApplicationError, ForbiddenError, TooManyRequestsError, UnauthenticatedError } from '../../kernel/errors.js';
import { excerpt } from '../../kernel/excerpt.js';
import type { Logger } from '../observability/logger.js';
import { actorOf } from './authenticate.js';
import type { ErrorBody } from './error-body.js';

const STATUS_BY_KIND: Record<ApplicationError['kind'], number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/** The realm of the service's bearer challenges (RFC 6750, section 3). */
export const AUTH_REALM = 'order-service';

/** The one place where errors become HTTP statuses. Expected errors are the client's; anything else is our bug. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const [status, body] = describe(error);
    // Request values here are the client's: only excerpts go into the log (and never a header, where tokens live).
    // Express calls this after the request's logging context ended, so the caller's sub is named here explicitly.
    const actor = actorOf(res);
    const where = {
      method: req.method,
      url: excerpt(req.originalUrl),
      correlationId: res.locals.correlationId as string | undefined,
      ...(actor ? { sub: actor.sub } : {}),
    };
    if (status >= 500 && status !== 503) {
      logger.error('unhandled error', { error: error?.stack ?? String(error), ...where });
    } else if (status === 503) {
      logger.warn('dependency unavailable', { error: error?.message ?? String(error), ...where });
    }
    if (res.headersSent) return;
    setChallengeHeaders(res, error);
    res.status(status).json(body);
  };
}

/** RFC 6750's WWW-Authenticate on 401 and 403, and Retry-After on 429 (RFC 6585). */
function setChallengeHeaders(res: Response, error: unknown): void {
  if (error instanceof UnauthenticatedError) {
    // Without a token the challenge carries no error code (RFC 6750, section 3.1).
    const detail = error.tokenGiven ? `, error="invalid_token", error_description="${quoted(error.message)}"` : '';
    res.setHeader('WWW-Authenticate', `Bearer realm="${AUTH_REALM}"${detail}`);
  } else if (error instanceof ForbiddenError) {
    res.setHeader('WWW-Authenticate', `Bearer realm="${AUTH_REALM}", error="insufficient_scope", scope="${quoted(error.scope)}"`);
  } else if (error instanceof TooManyRequestsError) {
    res.setHeader('Retry-After', String(error.retryAfterSeconds));
  }
}

/** Text fit for a quoted-string in a header: printable ASCII without quotes or backslashes. */
function quoted(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, '');
}

function describe(error: unknown): [number, ErrorBody] {
  if (error instanceof ApplicationError) return [STATUS_BY_KIND[error.kind], { message: error.message, data: error.data }];
  const parserError = error as { type?: string; status?: number; body?: unknown; limit?: number; charset?: string };
  switch (parserError.type) {
    case 'entity.parse.failed':
      return [400, { message: 'malformed JSON body', data: excerpt(typeof parserError.body === 'string' ? parserError.body : '') }];
    case 'entity.too.large':
      return [413, { message: `request body is larger than ${parserError.limit} bytes`, data: String(parserError.limit) }];
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return [400, { message: 'unsupported body encoding', data: excerpt(String(parserError.charset ?? '')) }];
    case 'request.aborted':
    case 'request.size.invalid':
      return [400, { message: 'incomplete request body', data: '' }];
  }
  // Other client errors that Express or the body parser raise with a 4xx of their own: a path parameter that is
  // not valid percent-encoding (URIError), a body that does not decompress as its Content-Encoding says.
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    if (error instanceof URIError) return [400, { message: 'path is not valid percent-encoding', data: excerpt(/'(.*)'$/.exec(error.message)?.[1] ?? '') }];
    return [400, { message: excerpt(`invalid request: ${(error as Error).message}`, 300), data: '' }];
  }
  return [500, { message: 'internal error', data: '' }];
}
