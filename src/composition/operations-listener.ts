import type { Server } from 'node:http';
import express from 'express';
import type { Service } from './service.js';
import { healthHandler, metricsHandler, readinessHandler } from '../app.js';
import { NotFoundError } from '../kernel/errors.js';
import { errorHandler } from '../platform/http/error-handler.js';
import { closeServer, listen, portOf } from './listener.js';

export interface OperationsListener {
  /** The port it listens on (the kernel's pick when configured as 0). */
  port: number | undefined;
  close(): Promise<void>;
}

/**
 * What a process without the `http` role serves on METRICS_HOST:METRICS_PORT, so that Prometheus can scrape a
 * relay, consumers or scheduler process and an orchestrator can probe it: GET /metrics, /healthcheck and /readyz,
 * and nothing else (404). With the `http` role these are the API's own routes (/metrics on METRICS_PORT when set).
 */
export async function startOperationsListener(service: Service): Promise<OperationsListener> {
  const { config, logger } = service;
  if (config.METRICS_PORT === undefined) throw new Error('the operations listener needs METRICS_PORT');
  const server: Server = await listen(operationsApp(service, { probes: true }), config.METRICS_HOST, config.METRICS_PORT, config);
  logger.info('operations listening (metrics, health, readiness)', { host: config.METRICS_HOST, port: portOf(server) });
  return { port: portOf(server), close: () => closeServer(server) };
}

/**
 * GET /metrics for a listener that need not face clients; with `probes`, also /healthcheck and /readyz and a JSON
 * 404 for anything else (a process without the API has no other port to be probed on).
 */
export function operationsApp(service: Service, { probes }: { probes: boolean }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(service.metrics));
  if (!probes) return app;
  app.get('/healthcheck', healthHandler());
  app.get('/readyz', readinessHandler(service.readiness, service.config.DEPENDENCY_TIMEOUT));
  app.use((req) => {
    throw new NotFoundError('route not found', `${req.method} ${req.path}`);
  });
  app.use(errorHandler(service.logger));
  return app;
}
