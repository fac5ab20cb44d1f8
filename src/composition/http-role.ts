import type { Server } from 'node:http';
import express from 'express';
import { authModeOf, publicUrlOf, type Config } from '../config.js';
import type { Service } from './service.js';
import { createApp } from '../app.js';
import { rateLimit } from '../platform/http/rate-limit.js';
import type { RunningRole } from './roles.js';
import { closeServer, listen, portOf } from './listener.js';
import { operationsApp } from './operations-listener.js';
import { buildAsyncApiDocument } from '../orders/messaging/asyncapi-document.js';

/** The service's HTTP app as role `http` serves it (tests and benchmarks build it here too). */
export function createServiceApp(service: Service): express.Express {
  const { config } = service;
  return createApp({
    routes: service.routes,
    metrics: service.metrics,
    logger: service.logger,
    readiness: service.readiness,
    readinessTimeoutMs: config.DEPENDENCY_TIMEOUT,
    bodyLimit: config.BODY_LIMIT,
    ...(service.accessTokens && { verifyToken: (token: string) => service.accessTokens!.verify(token) }),
    ...(config.RATE_LIMIT > 0 && { rateLimit: rateLimit(service.redis, { limit: config.RATE_LIMIT, windowMs: config.RATE_LIMIT_WINDOW }) }),
    serveMetrics: config.METRICS_PORT === undefined,
    openApi: { serverUrl: publicUrlOf(config), tags: API_TAGS },
    asyncApi: ASYNC_API,
  });
}

/** The same for every deployment (it names no server), so built once. */
const ASYNC_API = buildAsyncApiDocument();

/** What each tag of the routes means, for /openapi.json. */
const API_TAGS: Record<string, string> = {
  products: 'The catalogue: products with their price and discount',
  customers: 'Addresses, and users living at one',
  orders: "Orders and their customer saga; each user's approved orders",
  sagas: 'For operators: sagas by state and age, and one order\'s whole history (orders:admin)',
  operations: 'Liveness, readiness, metrics and the API documents; public',
};

/** Serves the API on HOST:PORT, and /metrics on METRICS_HOST:METRICS_PORT when that is set. */
export async function startHttpRole(service: Service): Promise<RunningRole> {
  const { config, logger } = service;
  const server = await listen(createServiceApp(service), config.HOST, config.PORT, config, service.metrics);
  const metricsServer = config.METRICS_PORT === undefined ? undefined : await listen(operationsApp(service, { probes: false }), config.METRICS_HOST, config.METRICS_PORT, config);
  const auth = authModeOf(config);
  logger.info('http listening', {
    host: config.HOST,
    port: portOf(server),
    auth: auth === 'jwt' ? 'on' : 'off',
    ...(metricsServer && { metrics: `${config.METRICS_HOST}:${portOf(metricsServer)}` }),
  });
  if (auth === 'off-disabled') logger.warn('authentication is disabled (AUTH_DISABLED=true) on a non-loopback address: anyone who reaches the port may do anything');
  return {
    name: 'http',
    async stop() {
      await Promise.all([server, metricsServer].filter((s): s is Server => s !== undefined).map(closeServer));
    },
  };
}

