import { z } from 'zod';
import type { RouteSpec } from './route-spec.js';
import { errorBody } from './error-body.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input or malformed JSON',
  404: 'unknown id',
  409: 'conflict: duplicate id or name, or an order in a state that forbids the action',
  413: 'body over the size limit',
  503: 'a dependency is down',
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
    paths[path] = { get: { summary, responses: { 200: { description: 'OK' } } } };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Order service', version: '1.0.0', description: 'Routes, names and JSON of the Go order service it replaces.' },
    paths,
    components: { schemas: { Error: jsonSchema(errorBody, 'output') } },
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
  const errors = [...new Set([...route.errors, 400, 503])].sort();
  return {
    summary: route.summary,
    tags: [route.tag],
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
