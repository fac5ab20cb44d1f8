import express, { type Request, type RequestHandler, type Response } from 'express';
import { NotFoundError, ValidationError } from './kernel/errors.js';
import { JsonText } from './kernel/json-text.js';
import { canonicalizeKeys } from './platform/http/json-keys.js';
import { errorHandler } from './platform/http/error-handler.js';
import { buildOpenApiDocument } from './platform/http/openapi.js';
import { checkReadiness, type ReadinessChecks } from './platform/http/readiness.js';
import { requestContext } from './platform/http/request-context.js';
import { actorOf, authenticate, requireAuthenticated, requireScopes, type TokenVerifier } from './platform/http/authenticate.js';
import { limitJsonDepth } from './platform/http/json-depth.js';
import type { RouteSpec } from './platform/http/route-spec.js';
import { withCorrelationId } from './platform/observability/correlation.js';
import { withActor } from './platform/auth/current-actor.js';
import type { Logger } from './platform/observability/logger.js';
import type { Metrics } from './platform/observability/metrics.js';

export const API_PREFIX = '/api/v1';

export interface AppDependencies {
  routes: RouteSpec[];
  metrics: Metrics;
  logger: Logger;
  readiness: ReadinessChecks;
  readinessTimeoutMs: number;
  bodyLimit: string;
  /** Verifies bearer tokens; without it the API runs without authentication (see config.ts, checkExposure). */
  verifyToken?: TokenVerifier;
  /** The per-client rate limit of the API routes, when one is set. */
  rateLimit?: RequestHandler;
  /** False when /metrics has a listener of its own (METRICS_PORT) and must not face clients here. */
  serveMetrics?: boolean;
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
  // Bodies are JSON whatever their Content-Type says, as the Go service read them.
  app.use(express.json({ limit: deps.bodyLimit, type: () => true }));
  app.use(limitJsonDepth());
  const operational = operationalRoutes(app, deps);
  const openApi = buildOpenApiDocument(API_PREFIX, deps.routes, operational);
  app.get('/openapi.json', (_req, res) => {
    res.locals.route = '/openapi.json';
    res.json(openApi);
  });

  for (const route of deps.routes) {
    const pattern = `${API_PREFIX}${route.path}`;
    const guard = deps.verifyToken ? [requireScopes(route.requires)] : [];
    const handler = async (req: Request, res: Response) => {
      res.locals.route = pattern;
      const correlationId = res.locals.correlationId as string;
      const actor = actorOf(res);
      const input = { params: req.params as Record<string, string>, query: req.query as Record<string, unknown>, body: bodyOf(req, route), correlationId, actor };
      const result = await withCorrelationId(correlationId, () => withActor(actor, () => route.handle(input)));
      if (route.success.status === 204) res.status(204).end();
      else if (result instanceof JsonText) res.status(200).type('application/json').send(result.text);
      else res.status(200).json(result);
    };
    for (const path of [route.path, ...(route.aliases ?? [])]) app[route.method](`${API_PREFIX}${path}`, ...guard, handler);
  }

  app.use((req) => {
    throw new NotFoundError('route not found', `${req.method} ${req.path}`);
  });
  app.use(errorHandler(deps.logger));
  return app;
}

/** Liveness, readiness and (unless it has a listener of its own) metrics: public, outside the API prefix. */
function operationalRoutes(app: express.Express, deps: AppDependencies): { path: string; summary: string }[] {
  app.get('/healthcheck', (_req, res) => {
    res.locals.route = '/healthcheck';
    res.json({ status: 'OK' });
  });
  app.get('/readyz', async (_req, res) => {
    res.locals.route = '/readyz';
    const report = await checkReadiness(deps.readiness, deps.readinessTimeoutMs);
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });
  const served = [
    { path: '/healthcheck', summary: 'Liveness: 200 while the process runs' },
    { path: '/readyz', summary: `Readiness: ${Object.keys(deps.readiness).join(', ')} checks` },
    { path: '/openapi.json', summary: 'This document' },
  ];
  if (deps.serveMetrics === false) return served;
  app.get('/metrics', metricsHandler(deps.metrics));
  return [...served, { path: '/metrics', summary: 'Prometheus metrics' }];
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
