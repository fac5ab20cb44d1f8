import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { NotFoundError, ValidationError } from './kernel/errors.js';
import { JsonBytes } from './kernel/json-bytes.js';
import { canonicalizeKeys } from './platform/http/json-keys.js';
import { errorHandler } from './platform/http/error-handler.js';
import { buildOpenApiDocument } from './platform/http/openapi.js';
import { checkReadiness, healthReport, readinessReport, type ReadinessChecks } from './platform/http/readiness.js';
import { requestContext } from './platform/http/request-context.js';
import { actorOf, authenticate, requireAuthenticated, requireScopes, type TokenVerifier } from './platform/http/authenticate.js';
import { limitJsonDepth } from './platform/http/json-depth.js';
import type { OperationalRoute, RouteSpec } from './platform/http/route-spec.js';
import { withCorrelationId } from './platform/observability/correlation.js';
import type { Logger } from './platform/observability/logger.js';
import type { Metrics } from './platform/observability/metrics.js';

export const API_PREFIX = '/api/v1';

export interface AppDependencies {
  routes: RouteSpec[];
  metrics: Metrics;
  logger: Logger;
  readiness: ReadinessChecks;
  readinessTimeoutMs: number;
  /** Bytes. */
  bodyLimit: number;
  /** Verifies bearer tokens; without it the API runs without authentication (see config.ts, checkExposure). */
  verifyToken?: TokenVerifier;
  /** The per-client rate limit of the API routes, when one is set. */
  rateLimit?: RequestHandler;
  /** False when /metrics has a listener of its own (METRICS_PORT) and must not face clients here. */
  serveMetrics?: boolean;
  /** What /openapi.json says besides the routes: where clients reach the API, and what each route tag means. */
  openApi: { serverUrl: string; tags: Record<string, string> };
  /** The AsyncAPI document of the service's messages, served at /asyncapi.json. */
  asyncApi: object;
}

/** Builds the Express app without listening: the http role serves it, tests drive it with supertest. */
export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestContext(deps.metrics, deps.logger));
  // Who is calling and how often, before a body is read: a refused client costs no parsing.
  if (deps.verifyToken) app.use(API_PREFIX, authenticate(deps.verifyToken));
  if (deps.rateLimit) app.use(API_PREFIX, deps.rateLimit);
  if (deps.verifyToken) app.use(API_PREFIX, requireAuthenticated());
  // Bodies are JSON whatever their Content-Type says, as the Go service read them. Read only by the routes that
  // take one: a query's body means nothing (RFC 9110), so reads pay for no parsing and no depth walk.
  const readBody = [express.json({ limit: deps.bodyLimit, type: () => true }), limitJsonDepth()];
  const operational = operationalRoutes(app, deps);
  const openApi = buildOpenApiDocument({ prefix: API_PREFIX, routes: deps.routes, operational, ...deps.openApi });
  app.get('/openapi.json', (_req, res) => {
    res.locals.route = '/openapi.json';
    res.json(openApi);
  });

  for (const route of deps.routes) {
    const pattern = `${API_PREFIX}${route.path}`;
    const guard = deps.verifyToken ? [requireScopes(route.requires)] : [];
    const body = route.request.body ? readBody : [];
    const handler = async (req: Request, res: Response) => {
      res.locals.route = pattern;
      const correlationId = res.locals.correlationId as string;
      const actor = actorOf(res);
      const input = { params: req.params as Record<string, string>, query: req.query as Record<string, unknown>, body: bodyOf(req, route), correlationId, actor };
      const result = await withCorrelationId(correlationId, () => route.handle(input), actor);
      if (route.success.status === 204) res.status(204).end();
      // Express adds the charset only to string bodies; these bytes are UTF-8 all the same.
      else if (result instanceof JsonBytes) res.status(200).set('Content-Type', 'application/json; charset=utf-8').send(result.bytes);
      else res.status(200).json(result);
    };
    for (const path of [route.path, ...(route.aliases ?? [])]) app[route.method](`${API_PREFIX}${path}`, ...guard, ...body, handler);
  }

  app.use((req) => {
    throw new NotFoundError('route not found', `${req.method} ${req.path}`);
  });
  app.use(errorHandler(deps.logger));
  return app;
}

/** Liveness, readiness, the AsyncAPI document and (unless it has a listener of its own) metrics: public, outside the API prefix. */
function operationalRoutes(app: express.Express, deps: AppDependencies): OperationalRoute[] {
  app.get('/healthcheck', healthHandler());
  app.get('/asyncapi.json', (_req, res) => {
    res.locals.route = '/asyncapi.json';
    res.json(deps.asyncApi);
  });
  app.get('/readyz', readinessHandler(deps.readiness, deps.readinessTimeoutMs));
  const checks = Object.keys(deps.readiness).join(', ');
  const served: OperationalRoute[] = [
    { path: '/healthcheck', operationId: 'getHealth', summary: 'Liveness: 200 while the process runs', answers: { 200: { description: 'the process runs', schema: healthReport } } },
    {
      path: '/readyz',
      operationId: 'getReadiness',
      summary: `Readiness: ${checks} checks`,
      answers: { 200: { description: 'every dependency answers', schema: readinessReport }, 503: { description: 'a dependency does not answer', schema: readinessReport } },
    },
    { path: '/openapi.json', operationId: 'getOpenApiDocument', summary: 'This document', answers: { 200: { description: 'the OpenAPI 3.1 document', schema: API_DOCUMENT } } },
    {
      path: '/asyncapi.json',
      operationId: 'getAsyncApiDocument',
      summary: 'The AsyncAPI 3.0 document of the RabbitMQ side (docs/asyncapi.json)',
      answers: { 200: { description: 'the AsyncAPI 3.0 document', schema: API_DOCUMENT } },
    },
  ];
  if (deps.serveMetrics === false) return served;
  app.get('/metrics', metricsHandler(deps.metrics));
  const metrics = { description: 'the Prometheus text format', schema: z.string(), mediaType: 'text/plain' };
  return [...served, { path: '/metrics', operationId: 'getMetrics', summary: 'Prometheus metrics', answers: { 200: metrics } }];
}

/** An API document, as /openapi.json documents it: a JSON object (the document itself says the rest). */
const API_DOCUMENT = z.looseObject({}).meta({ id: 'ApiDocument' });

/** GET /healthcheck: 200 while the process runs. */
export function healthHandler(): RequestHandler {
  return (_req, res) => {
    res.locals.route = '/healthcheck';
    res.json({ status: 'OK' } satisfies z.output<typeof healthReport>);
  };
}

/** GET /readyz: 200 when every dependency answers within the timeout, else 503; the report names each. */
export function readinessHandler(readiness: ReadinessChecks, timeoutMs: number): RequestHandler {
  return async (_req, res) => {
    res.locals.route = '/readyz';
    const report = await checkReadiness(readiness, timeoutMs);
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  };
}

export function metricsHandler(metrics: Metrics): RequestHandler {
  return async (_req, res) => {
    res.locals.route = '/metrics';
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

/** The request body as an object with canonical keys; routes without a body schema get {}. */
function bodyOf(req: Request, route: RouteSpec): Record<string, unknown> {
  if (!route.request.body) return {};
  const body: unknown = req.body;
  if (body === undefined) throw new ValidationError('request body must be a JSON object', '');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('request body must be a JSON object', JSON.stringify(body));
  }
  return canonicalizeKeys(body as Record<string, unknown>, route.request.body);
}
