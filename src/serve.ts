import { guardIsActive } from './platform/messaging/amqp-header-guard.js';
import 'reflect-metadata';
import type { Config } from './config.js';
import type { Tracing } from './platform/observability/tracing.js';
import { composeService } from './composition/service.js';
import { amqpNodes } from './platform/messaging/amqp-url.js';
import { ROLE_STARTERS, type RunningRole } from './composition/roles.js';
import { startOperationsListener, type OperationsListener } from './composition/operations-listener.js';

/**
 * What main.ts runs once tracing is in place: composes the service, starts the roles named in ROLES in one
 * process (without the http role, also the listener for /metrics, /healthcheck and /readyz on METRICS_PORT) and
 * stops them in reverse order on SIGTERM or SIGINT: the HTTP server stops accepting and finishes in-flight
 * requests, consumers and the relay finish their current message or batch, then connections close and the last
 * spans are exported. A second signal or the shutdown timeout exits at once.
 */
export async function serve(config: Config, tracing: Tracing): Promise<void> {
  // Fail closed: without the guard one message with deeply nested headers closes the RabbitMQ connection, again and again.
  if (!guardIsActive()) throw new Error('amqplib was loaded before src/platform/messaging/amqp-header-guard.ts: import it first in the entry point');
  const service = composeService(config);
  const running: RunningRole[] = [];
  let operations: OperationsListener | undefined;
  let stopping = false;

  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) process.exit(1);
    stopping = true;
    service.logger.info('shutting down', { signal });
    const timer = setTimeout(() => {
      service.logger.error('shutdown timed out; exiting', { timeout_ms: config.SHUTDOWN_TIMEOUT });
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT);
    timer.unref();
    for (const role of [...running].reverse()) {
      await role.stop().catch((error) => service.logger.error('role failed to stop', { role: role.name, error: String(error) }));
    }
    await operations?.close().catch((error) => service.logger.error('the operations listener failed to close', { error: String(error) }));
    await service.close();
    await tracing.shutdown().catch((error) => service.logger.warn('the last spans could not be exported', { error: String(error) }));
    service.logger.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // A broker whose queues have the other type is refused. At start nothing runs yet: the first connection is
  // awaited (bounded: a broker that is down does not hold the start up longer) and the process exits with the
  // sentence. Once running, it stops as on SIGTERM. Either way the sentence says what to run.
  let started = false;
  service.rabbit.onRefused((reason) => {
    if (!started) return;
    service.logger.error(reason);
    void shutdown('refused', 1);
  });
  await service.rabbit.start();
  // Each attempt is bounded by DEPENDENCY_TIMEOUT for the connection and again for the topology.
  await service.rabbit.firstRound(config.DEPENDENCY_TIMEOUT * 2 * amqpNodes(config.AMQP_URL).length + 1_000);
  if (service.rabbit.refused) {
    console.error(service.rabbit.refused);
    await service.close();
    await tracing.shutdown().catch(() => undefined);
    process.exit(1);
  }
  for (const role of config.ROLES) running.push(await ROLE_STARTERS[role](service));
  // Without the API, metrics, liveness and readiness need a listener of their own: on METRICS_PORT, when set (a
  // port of its own, so that several such processes on one host do not collide on PORT).
  if (!config.ROLES.includes('http')) {
    if (config.METRICS_PORT !== undefined) operations = await startOperationsListener(service);
    else service.logger.info('no /metrics, /healthcheck or /readyz in this process: it runs no http role and METRICS_PORT is not set');
  }
  started = true;
  if (service.rabbit.refused) void shutdown('refused', 1);
  service.logger.info('order service started', { roles: config.ROLES, pid: process.pid, tracing: tracing.enabled ? 'on' : 'off' });
}
