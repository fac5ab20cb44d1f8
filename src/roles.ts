import type { Server } from 'node:http';
import { once } from 'node:events';
import type { Role } from './config.js';
import type { Service } from './composition.js';
import { createApp } from './app.js';
import { startRelayRole } from './outbox/relay-role.js';
import { startSchedulerRole } from './scheduler.js';
import { startConsumersRole } from './consumers-role.js';

/** A started role: stop() finishes in-flight work and releases what the role holds. */
export interface RunningRole {
  name: Role;
  stop(): Promise<void>;
}

export type RoleStarter = (service: Service) => Promise<RunningRole>;

async function startHttp(service: Service): Promise<RunningRole> {
  const app = createApp({
    routes: service.routes,
    metrics: service.metrics,
    logger: service.logger,
    readiness: service.readiness,
    readinessTimeoutMs: service.config.DEPENDENCY_TIMEOUT,
    bodyLimit: service.config.BODY_LIMIT,
  });
  const server: Server = app.listen(service.config.PORT);
  await once(server, 'listening');
  // Longer than a typical load balancer's idle timeout, so it closes idle connections first.
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  service.logger.info('http listening', { port: typeof address === 'object' && address ? address.port : service.config.PORT });
  return {
    name: 'http',
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}

/** Roles filled in by the outbox, saga and projection modules (see their issues); each is independent. */
export const ROLE_STARTERS: Record<Role, RoleStarter> = {
  http: startHttp,
  relay: startRelayRole,
  consumers: startConsumersRole,
  scheduler: startSchedulerRole,
};
