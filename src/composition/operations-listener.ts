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
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(service.metrics));
  app.get('/healthcheck', healthHandler());
  app.get('/readyz', readinessHandler(service.readiness, config.DEPENDENCY_TIMEOUT));
  app.use((req) => {
    throw new NotFoundError('route not found', `${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));
  if (config.METRICS_PORT === undefined) throw new Error('the operations listener needs METRICS_PORT');
  const server: Server = await listen(app, config.METRICS_HOST, config.METRICS_PORT, config);
  logger.info('operations listening (metrics, health, readiness)', { host: config.METRICS_HOST, port: portOf(server) });
  return { port: portOf(server), close: () => closeServer(server) };
}
