import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type express from 'express';
import type { Config } from '../config.js';
import type { Metrics } from '../platform/observability/metrics.js';
import { limitConnections } from './connection-limits.js';

/**
 * A server with the abuse limits of config: a whole request (headers and body) must arrive within
 * REQUEST_TIMEOUT and its headers within HEADERS_TIMEOUT (else 408 and the connection closes), at most
 * MAX_CONNECTIONS_PER_ADDRESS sockets are open from one client address, and at most MAX_CONNECTIONS in all, idle
 * keep-alive ones closed to make room for a newcomer (connection-limits.ts). With `metrics`, its connections are
 * the http_connections_* metrics (the API listener's; the metrics listener's own are not counted).
 */
export async function listen(app: express.Express, host: string, port: number, config: Config, metrics?: Metrics): Promise<Server> {
  const server = createServer(
    {
      requestTimeout: config.REQUEST_TIMEOUT,
      headersTimeout: config.HEADERS_TIMEOUT,
      // Longer than a typical load balancer's idle timeout, so it closes idle connections first.
      keepAliveTimeout: 65_000,
      // How often the timeouts above are checked (Node's default, 30 s, would let a slow client stay twice as long).
      connectionsCheckingInterval: 1_000,
    },
    app,
  );
  const connections = limitConnections(
    server,
    { max: config.MAX_CONNECTIONS, perAddress: config.MAX_CONNECTIONS_PER_ADDRESS },
    metrics && { refused: (reason) => metrics.httpConnectionsRefused.inc({ reason }) },
  );
  metrics?.observeConnections(connections.open);
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}

export function portOf(server: Server): number | undefined {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : undefined;
}

export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
}
