import type { RouteSpec } from './route-spec.js';

/** The error statuses of the API, each with the one response /openapi.json documents for it (openapi-responses.ts). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 429 | 500 | 503;

/**
 * What each layer that app.ts mounts in front of a route can answer on its own. A route's documented errors are
 * these plus its own (RouteSpec.errors), so that a new layer or route is documented with every status it brings.
 * The document describes the API as deployed, with authentication and the rate limit on: a process running
 * without them (a loopback address, RATE_LIMIT=0) answers a subset.
 */
export const LAYERS = {
  /** The HTTP server (http-role.ts), in front of everything: a request not in within REQUEST_TIMEOUT (headers HEADERS_TIMEOUT). */
  server: [408],
  /** express.json() and limitJsonDepth(), in front of every route: malformed or too deeply nested JSON, BODY_LIMIT. */
  body: [400, 413],
  /** authenticate() and requireAuthenticated() on the API prefix: no valid token; the identity service's keys not loaded. */
  authentication: [401, 503],
  /** The rate limit on the API prefix. */
  rateLimit: [429],
  /** requireScopes(): a valid token without one of the route's scopes (only where the route names scopes). */
  scopes: [403],
  /** The mediator every API route sends through: the validation behaviour, and a dependency (PostgreSQL) down. */
  mediator: [400, 503],
  /** errorHandler(), behind every route: anything it does not recognise is a bug of the service (never what a client sent). */
  errorHandler: [500],
} as const satisfies Record<string, readonly ErrorStatus[]>;

/** Every error status an API route can answer, in ascending order. */
export function apiRouteErrors(route: Pick<RouteSpec, 'requires' | 'errors'>): ErrorStatus[] {
  return sorted([
    ...LAYERS.server,
    ...LAYERS.body,
    ...LAYERS.authentication,
    ...LAYERS.rateLimit,
    ...(route.requires.length > 0 ? LAYERS.scopes : []),
    ...LAYERS.mediator,
    ...LAYERS.errorHandler,
    ...route.errors,
  ]);
}

/** Every error status a public operational route (outside the API prefix) can answer besides its own answers. */
export function operationalRouteErrors(): ErrorStatus[] {
  return sorted([...LAYERS.server, ...LAYERS.body, ...LAYERS.errorHandler]);
}

function sorted(statuses: ErrorStatus[]): ErrorStatus[] {
  return [...new Set(statuses)].sort((a, b) => a - b);
}
