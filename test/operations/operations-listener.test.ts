import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { ManagedProcess } from '../faults/support/service-processes.js';
import { freePorts } from '../faults/support/environment.js';

// Processes without the http role, as main.ts starts them: with METRICS_PORT they serve /metrics, /healthcheck and
// /readyz there (Prometheus scrapes a relay or consumers process like any other); without it, nothing listens.

let t: TestService;
let logDir: string;
let metricsPort: number;
const processes: ManagedProcess[] = [];

function serviceWithout(name: string, roles: string, env: Record<string, string>, isUp: () => Promise<boolean>): ManagedProcess {
  const managed = new ManagedProcess(
    {
      name,
      args: ['src/main.ts'],
      env: { ROLES: roles, DATABASE_URL: t.databaseUrl, AMQP_URL: t.amqpUrl, REDIS_URL: t.config.REDIS_URL, REDIS_KEY_PREFIX: t.redisPrefix, LOG_LEVEL: 'info', ...env },
      isUp,
    },
    logDir,
  );
  processes.push(managed);
  return managed;
}

/** The TCP ports a process listens on: its socket inodes among the LISTEN entries of /proc/net/tcp and tcp6. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]));
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, the tenth field the socket's inode.
      .filter((fields) => fields[3] === '0A' && inodes.has(fields[9]))
      .map((fields) => parseInt(fields[1]!.split(':')[1]!, 16)),
  );
}

const at = (pathname: string, init?: RequestInit) => fetch(`http://127.0.0.1:${metricsPort}${pathname}`, { ...init, signal: AbortSignal.timeout(5_000) });

beforeAll(async () => {
  logDir = await mkdtemp(path.join(tmpdir(), 'operations-listener-'));
  t = await startTestService();
  metricsPort = (await freePorts(1))[0]!;
  await serviceWithout('relay-scheduler', 'relay,scheduler', { METRICS_PORT: String(metricsPort) }, async () => (await at('/healthcheck')).ok).start();
});
afterAll(async () => {
  for (const managed of processes) {
    await managed.stop();
    await managed.closeLog();
  }
  await t?.close();
  await rm(logDir, { recursive: true, force: true });
});

describe('a process without the http role', () => {
  it('when METRICS_PORT is set, then /metrics there has the relay and scheduler metrics of that process', async () => {
    const answer = await at('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await answer.text();
    expect(text).toMatch(/^outbox_relay_batch_slots 2$/m);
    expect(text).toMatch(/^saga_timeout_seconds \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('when it is probed, then /healthcheck is 200 and /readyz checks PostgreSQL, Redis and RabbitMQ', async () => {
    expect(await (await at('/healthcheck')).json()).toEqual({ status: 'OK' });
    // RabbitMQ counts as up once the connection is made, which may come after the process answers.
    const readiness = await eventually('a ready answer', async () => {
      const answer = await at('/readyz');
      return answer.status === 200 && ((await answer.json()) as object);
    });
    expect(readiness).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up', rabbitmq: 'up' } });
  });

  it('when anything else is asked of that listener, then it answers 404 and serves no API', async () => {
    for (const [method, pathname] of [['GET', '/api/v1/products'], ['POST', '/metrics'], ['GET', '/openapi.json']] as const) {
      const answer = await at(pathname, { method });
      expect(answer.status, `${method} ${pathname}`).toBe(404);
      expect(await answer.json(), `${method} ${pathname}`).toMatchObject({ message: expect.any(String) });
    }
  });

  it('when METRICS_PORT is not set, then it listens nowhere and its log says why there is no /metrics', async () => {
    const consumers = serviceWithout('consumers-only', 'consumers', {}, async () => (await readFile(consumers.logFile, 'utf8')).includes('"order service started"'));
    await consumers.start();
    const log = await readFile(consumers.logFile, 'utf8');
    expect(log).toContain('no /metrics, /healthcheck or /readyz in this process: it runs no http role and METRICS_PORT is not set');
    expect(log).not.toContain('operations listening');
    expect(listeningPorts(consumers.pid!)).toEqual([]);
    expect(listeningPorts(processes[0]!.pid!)).toEqual([metricsPort]);
  });
});
