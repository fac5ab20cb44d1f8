import type { z } from 'zod';
import { SchemaComponents, type JsonSchema } from '../schema-components.js';
import type { OperationalRoute, RouteSpec } from './route-spec.js';
import { errorBody } from './error-body.js';
import { apiRouteErrors, operationalRouteErrors } from './route-answers.js';
import { errorResponseComponents, errorResponseRefs, RESPONSE_HEADERS, responseHeaders } from './openapi-responses.js';

/** The bearer scheme every API route declares (RFC 6750; tokens are RFC 9068 JWTs with a `scope` claim). */
const BEARER = {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description:
    'An access token from the identity service (RS256 or ES256, with iss, aud, exp and sub). Scopes: orders:read, orders:write, ' +
    "orders:admin (any user's orders and GET /orders), catalog:write, customers:write. Not checked when the service runs without authentication on a loopback address.",
};

export interface OpenApiInput {
  /** The API routes' prefix, e.g. /api/v1. */
  prefix: string;
  routes: RouteSpec[];
  operational: OperationalRoute[];
  /** Where clients reach this deployment (PUBLIC_URL, else HOST and PORT). */
  serverUrl: string;
  /** Every route's tag, with its description (operational routes are tagged `operations`). */
  tags: Record<string, string>;
}

/**
 * The OpenAPI 3.1 document of every route, from the zod schemas the handlers validate with: named shapes in
 * components.schemas, the error answers in components.responses, each route's statuses from route-answers.ts.
 */
export function buildOpenApiDocument(input: OpenApiInput): object {
  const schemas = new SchemaComponents();
  const errorSchema = schemas.of(errorBody, 'output');
  const paths: Record<string, Record<string, object>> = {};
  for (const route of input.routes) {
    for (const [index, path] of [route.path, ...(route.aliases ?? [])].entries()) {
      const openApiPath = `${input.prefix}${path}`.replace(/:(\w+)/g, '{$1}');
      paths[openApiPath] ??= {};
      paths[openApiPath][route.method] = apiOperation(route, schemas, index === 0 ? route.operationId : aliasOperationId(route.operationId, path));
    }
  }
  for (const route of input.operational) paths[route.path] = { get: operationalOperation(route, schemas) };
  return {
    openapi: '3.1.0',
    info: { title: 'Order service', version: '1.0.0', description: 'Routes, names and JSON of the Go order service it replaces.' },
    servers: [{ url: input.serverUrl, description: 'This deployment (PUBLIC_URL, else http://HOST:PORT)' }],
    tags: usedTags(input).map((name) => ({ name, description: input.tags[name] })),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: schemas.all(),
      responses: errorResponseComponents(errorSchema),
      headers: RESPONSE_HEADERS,
      securitySchemes: { bearer: BEARER },
    },
  };
}

function apiOperation(route: RouteSpec, schemas: SchemaComponents, operationId: string): object {
  const { params, query, body } = route.request;
  const parameters = [...parametersOf(params, 'path', schemas), ...parametersOf(query, 'query', schemas)];
  const { status, description, schema } = route.success;
  return {
    operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    // Alternatives: a token with any one of the scopes will do (OpenAPI 3.1 lists them as role names).
    security: route.requires.length > 0 ? route.requires.map((scope) => ({ bearer: [scope] })) : [{ bearer: [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, description: 'JSON; keys match in any case', content: jsonContent(schemas.of(body, 'input')) } } : {}),
    responses: {
      [status]: { description, headers: responseHeaders(), ...(schema ? { content: jsonContent(schemas.of(schema, 'output')) } : {}) },
      ...errorResponseRefs(apiRouteErrors(route)),
    },
  };
}

function operationalOperation(route: OperationalRoute, schemas: SchemaComponents): object {
  const answers = Object.entries(route.answers).map(([status, { description, schema, mediaType }]) => [
    status,
    { description, headers: responseHeaders(), content: { [mediaType ?? 'application/json']: { schema: schemas.of(schema, 'output') } } },
  ]);
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: ['operations'],
    security: [],
    responses: { ...errorResponseRefs(operationalRouteErrors()), ...Object.fromEntries(answers) },
  };
}

function parametersOf(shape: z.ZodObject | undefined, place: 'path' | 'query', schemas: SchemaComponents): object[] {
  return Object.entries(shape?.shape ?? {}).map(([name, schema]) => ({
    name,
    in: place,
    required: place === 'path',
    schema: schemas.of(schema as z.ZodType, 'input'),
  }));
}

function jsonContent(schema: JsonSchema): object {
  return { 'application/json': { schema } };
}

/** An older spelling's operation needs a name of its own (operationIds are unique): createAddress at /address is createAddressAtAddress. */
function aliasOperationId(operationId: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return `${operationId}At${words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('')}`;
}

function usedTags(input: OpenApiInput): string[] {
  const names = [...new Set([...input.routes.map((route) => route.tag), ...(input.operational.length > 0 ? ['operations'] : [])])];
  const undescribed = names.filter((name) => !input.tags[name]);
  if (undescribed.length > 0) throw new Error(`tags without a description: ${undescribed.join(', ')}`);
  return names;
}
