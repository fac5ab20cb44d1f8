import { AUTH_REALM } from './error-handler.js';
import type { ErrorStatus } from './route-answers.js';

/**
 * The error answers of /openapi.json, one per status, each with the error body and the headers the code sets on it
 * (error-handler.ts: WWW-Authenticate on 401 and 403, Retry-After on 429; rate-limit.ts: the RateLimit headers).
 * They live in components.responses, and operations refer to them.
 */
const ERROR_RESPONSES: Record<ErrorStatus, { name: string; description: string; headers?: string[]; noBody?: true }> = {
  400: { name: 'BadRequest', description: 'Invalid input, malformed JSON, or JSON nested too deeply; `data` is the offending value' },
  401: {
    name: 'Unauthorized',
    description: 'No valid access token: missing, malformed, expired, for another issuer or audience, or not signed by the identity service',
    headers: ['WWW-Authenticate'],
  },
  403: { name: 'Forbidden', description: 'The token lacks the scope this needs; WWW-Authenticate names it', headers: ['WWW-Authenticate'] },
  404: { name: 'NotFound', description: 'Unknown id or name (another user\'s order is not found either, unless orders:admin)' },
  408: {
    name: 'RequestTimeout',
    description: 'The request, headers and body, did not arrive within REQUEST_TIMEOUT (headers HEADERS_TIMEOUT): the HTTP server answers without a body and closes the connection',
    noBody: true,
  },
  409: { name: 'Conflict', description: 'Duplicate id or name, or an order whose state forbids the action' },
  413: { name: 'PayloadTooLarge', description: 'Request body over BODY_LIMIT' },
  429: { name: 'TooManyRequests', description: 'Over the rate limit (when RATE_LIMIT is set)', headers: ['Retry-After', 'RateLimit', 'RateLimit-Policy'] },
  500: { name: 'InternalServerError', description: 'A bug of the service, never caused by what a client sent: message "internal error", data empty' },
  503: {
    name: 'ServiceUnavailable',
    description: "A dependency is down (PostgreSQL), or the identity service's keys are not loaded yet; try again",
  },
};

/** Response headers, in components.headers. `required` ones are always set on the responses that name them. */
export const RESPONSE_HEADERS: Record<string, object> = {
  'X-Request-Id': {
    description: "The request's correlation id: the client's X-Request-Id (or X-Correlation-Id) if short and printable, else a new UUID",
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  },
  'WWW-Authenticate': {
    description: `RFC 6750 challenge: Bearer realm="${AUTH_REALM}", with error="invalid_token" and error_description when a token was sent, or error="insufficient_scope" and scope`,
    required: true,
    schema: { type: 'string', pattern: `^Bearer realm="${AUTH_REALM}"` },
  },
  'Retry-After': { description: 'Seconds until the rate limit lets this client in again', required: true, schema: { type: 'integer', minimum: 1 } },
  RateLimit: {
    description: 'draft-ietf-httpapi-ratelimit-headers: "per-client";r=<requests left>;t=<seconds to the window\'s end>. On every API answer when RATE_LIMIT is set',
    required: true,
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'draft-ietf-httpapi-ratelimit-headers: "per-client";q=<requests per window>;w=<window in seconds>. On every API answer when RATE_LIMIT is set',
    required: true,
    schema: { type: 'string' },
  },
};

/** The header map of a response: the correlation id always, then the named ones. */
export function responseHeaders(names: string[] = []): Record<string, object> {
  return Object.fromEntries(['X-Request-Id', ...names].map((name) => [name, { $ref: `#/components/headers/${name}` }]));
}

/** components.responses: one per error status, with the Error body. */
export function errorResponseComponents(errorSchemaRef: object): Record<string, object> {
  return Object.fromEntries(
    Object.values(ERROR_RESPONSES).map(({ name, description, headers, noBody }) => [
      name,
      // Node's HTTP server answers 408 itself, before any middleware: no correlation id, no body.
      noBody ? { description } : { description, headers: responseHeaders(headers), content: { 'application/json': { schema: errorSchemaRef } } },
    ]),
  );
}

/** An operation's responses for these error statuses, as references to the components above. */
export function errorResponseRefs(statuses: readonly ErrorStatus[]): Record<string, object> {
  return Object.fromEntries(statuses.map((status) => [String(status), { $ref: `#/components/responses/${ERROR_RESPONSES[status].name}` }]));
}
