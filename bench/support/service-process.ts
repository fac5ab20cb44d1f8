/**
 * A service process for the benchmarks: the roles named in BENCH_ROLES (http, relay) on the DATABASE_URL and
 * AMQP_URL of the environment, like `npm start` with ROLES, plus what a benchmark needs to see inside it:
 * the wall-clock time at which each create transaction committed (the outbox signal fires after commit, in
 * the request's context), sent to the parent over IPC. BENCH_NOTIFY=off turns the NOTIFY after commit off;
 * BENCH_NOTIFY=always sends it even though a relay runs in this process.
 */
import 'reflect-metadata';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { parseConfig } from '../../src/config.js';
import { composeService } from '../../src/composition/service.js';
import { createServiceApp } from '../../src/composition/http-role.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { currentCorrelationId } from '../../src/platform/observability/correlation.js';
import { startRelayRole, type RunningRelay } from '../../src/composition/relay-role.js';
import { wallClockMs, type FromService, type ToService } from './service-messages.js';

const roles = (process.env.BENCH_ROLES ?? 'http,relay').split(',');
const config = parseConfig(process.env);
const service = composeService(config, { logger: createLogger({ level: 'warn' }), defaultMetrics: false });
if (process.env.BENCH_NOTIFY === 'off') service.outboxNotifier.disable();
await service.rabbit.start();
await service.rabbit.waitForConnection(10_000);
// With BENCH_AUTH=1 (AUTH_* in the environment): ready once the identity service's keys are loaded.
while (service.accessTokens && !service.accessTokens.keys.ready) await new Promise((resolve) => setTimeout(resolve, 50));

const send = (message: FromService) => process.send!(message);
let commits: [string, number][] = [];
// First listener, so the time is taken before the relay's own wake-up work runs.
service.outboxSignal.prependListener('ready', () => {
  const id = currentCorrelationId();
  if (id) commits.push([id, wallClockMs()]);
});
const flush = () => {
  if (commits.length === 0) return;
  send({ type: 'commits', commits });
  commits = [];
};
setInterval(flush, 50).unref();

let server: Server | undefined;
if (roles.includes('http')) {
  const app = createServiceApp(service);
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000;
}
const relay: RunningRelay | undefined = roles.includes('relay') ? await startRelayRole(service) : undefined;
// To measure what skipping the NOTIFY saves when the relay is in this process: notify as if it were not.
if (relay && process.env.BENCH_NOTIFY === 'always') service.outboxNotifier.setLocalRelay(false);
let cpuSince = process.cpuUsage();

process.on('message', async (message: ToService) => {
  if (message.type === 'cpu-reset') cpuSince = process.cpuUsage();
  if (message.type === 'cpu') {
    const used = process.cpuUsage(cpuSince);
    send({ type: 'cpu', seconds: (used.user + used.system) / 1e6 });
  }
  if (message.type === 'stop') {
    flush();
    await relay?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await service.close();
    process.exit(0);
  }
});
send({ type: 'ready', port: server ? (server.address() as AddressInfo).port : undefined });
