import { z } from 'zod';
import type { RouteSpec } from './route-spec.js';
import { errorBody } from './error-body.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input or malformed JSON',
  401: 'no valid access token (WWW-Authenticate: Bearer says why)',
  403: 'the token lacks the scope needed (WWW-Authenticate: Bearer error="insufficient_scope" names it)',
  404: 'unknown id',
  409: 'conflict: duplicate id or name, or an order in a state that forbids the action',
  413: 'body over the size limit',
  429: 'over the rate limit (when RATE_LIMIT is set); Retry-After says when to try again',
  503: "a dependency is down, or the identity service's keys are not loaded yet",
};

/** The bearer scheme every API route declares (RFC 6750; tokens are RFC 9068 JWTs with a `scope` claim). */
const BEARER = {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description:
    'An access token from the identity service (RS256 or ES256, with iss, aud, exp and sub). Scopes: orders:read, orders:write, ' +
    "orders:admin (any user's orders and GET /orders), catalog:write, customers:write. Not checked when the service runs without authentication on a loopback address.",
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): object {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

/** The OpenAPI 3.1 document of every route, generated from the zod schemas the handlers validate with. */
export function buildOpenApiDocument(prefix: string, routes: RouteSpec[], operational: { path: string; summary: string }[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    for (const path of [route.path, ...(route.aliases ?? [])]) {
      const openApiPath = `${prefix}${path}`.replace(/:(\w+)/g, '{$1}');
      paths[openApiPath] ??= {};
      paths[openApiPath][route.method] = operation(route);
    }
  }
  for (const { path, summary } of operational) {
    paths[path] = { get: { summary, security: [], responses: { 200: { description: 'OK' } } } };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Order service', version: '1.0.0', description: 'Routes, names and JSON of the Go order service it replaces.' },
    paths,
    security: [{ bearer: [] }],
    components: { schemas: { Error: jsonSchema(errorBody, 'output') }, securitySchemes: { bearer: BEARER } },
  };
}

function operation(route: RouteSpec): object {
  const parameters = [
    ...Object.keys(route.request.params?.shape ?? {}).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(route.request.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: false,
      schema: jsonSchema(schema as z.ZodType, 'input'),
    })),
  ];
  const errors = [...new Set([...route.errors, 400, 401, 403, 429, 503])].sort();
  return {
    summary: route.summary,
    tags: [route.tag],
    // Alternatives: a token with any one of the scopes will do (OpenAPI 3.1 lists them as role names).
    security: route.requires.length > 0 ? route.requires.map((scope) => ({ bearer: [scope] })) : [{ bearer: [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.request.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.request.body, 'input') } } } }
      : {}),
    responses: {
      [route.success.status]: {
        description: route.success.description,
        ...(route.success.schema ? { content: { 'application/json': { schema: jsonSchema(route.success.schema, 'output') } } } : {}),
      },
      ...Object.fromEntries(
        errors.map((status) => [
          status,
          { description: ERROR_DESCRIPTIONS[status] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ]),
      ),
    },
  };
}
