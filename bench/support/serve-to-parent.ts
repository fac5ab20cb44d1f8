import { once } from 'node:events';
import type { Express } from 'express';

/**
 * Serves a floor app in a forked child: listens on a free local port, sends the port to the parent, and on
 * SIGTERM stops the server, then runs `close` (its pools and connections) and exits.
 */
export async function serveToParent(app: Express, close: () => Promise<unknown>): Promise<void> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000;
  process.send!({ port: (server.address() as { port: number }).port });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  });
}
