import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from '../support/http-client.js';
import { countsSince, formatStatuses } from '../support/load.js';
import { ensurePostgres, stopPostgres, terminateConnections } from '../support/outages.js';
import type { StepContext, StepDefinition } from '../support/step-harness.js';

const TERMINATE_FOR_MS = 5_000;
const DOWN_MS = 5_000;
const RECOVERY_DEADLINE_MS = 60_000;

/**
 * PostgreSQL outage: every connection of the service terminated again and again for a few seconds, then the
 * server stopped (fast) and started again after a few seconds. Requests meanwhile get a 503 quickly (the times
 * are printed, not asserted); the processes recover by themselves, without a restart; nothing acknowledged is
 * lost (the load retries 503s with the same orderID until the database is back).
 */
export const postgresOutageStep: StepDefinition = {
  name: 'postgres-outage',
  rate: Number(process.env.FAULTS_PG_RATE ?? 80),
  total: Number(process.env.FAULTS_PG_ORDERS ?? 3_200),
  users: 100,
  async fault(ctx) {
    const starts = ctx.services.map((service) => service.starts);
    await sleep(8_000);
    ctx.log('terminating the service\'s connections');
    let terminated = 0;
    let rounds = 0;
    for (const end = Date.now() + TERMINATE_FOR_MS; Date.now() < end; rounds++) {
      terminated += await terminateConnections(ctx.env.databaseName);
      await sleep(250);
    }
    ctx.notes.push(`pg_terminate_backend: ${terminated} connections ended in ${rounds} rounds over ${TERMINATE_FOR_MS / 1000} s`);
    await sleep(5_000);

    const before = new Map(ctx.load.stats.byStatus);
    const probes: string[] = [];
    try {
      ctx.log('stopping PostgreSQL');
      await stopPostgres();
      const stopped = Date.now();
      ctx.log('PostgreSQL stopped');
      while (Date.now() - stopped < DOWN_MS) {
        const port = ctx.livePorts()[probes.length % 2] ?? ctx.livePorts()[0]!;
        const answer = await request(port, 'GET', `/api/v1/orders/${randomUUID()}`);
        probes.push(answer.ok ? `${answer.status} in ${answer.ms} ms` : `${answer.error} after ${answer.ms} ms`);
        if (!answer.ok || answer.status !== 503) ctx.problems.push(`GET /orders/:id while PostgreSQL was stopped: ${answer.ok ? `${answer.status} ${answer.text.slice(0, 200)}` : answer.error}`);
        await sleep(250);
      }
    } finally {
      await ensurePostgres();
    }
    const restarted = Date.now();
    ctx.log('PostgreSQL started');
    ctx.notes.push(`PostgreSQL stopped for ${DOWN_MS / 1000} s: GET /orders/:id answered ${probes.join(', ')}`);
    await recovery(ctx, restarted);
    ctx.notes.push(`order answers since the stop ${formatStatuses(countsSince(ctx.load.stats.byStatus, before))}; ${describe503(ctx.load.stats.latencies503)}`);
    if (ctx.services.some((service, i) => service.starts !== starts[i])) ctx.problems.push('a service process was restarted during the PostgreSQL outage');
  },
};

/** Each process answers from the database again (a 404 for an unknown order) without being restarted. */
async function recovery(ctx: StepContext, restarted: number): Promise<void> {
  const times: string[] = [];
  for (const service of ctx.services) {
    const port = Number(service.spec.env.PORT);
    for (;;) {
      const answer = await request(port, 'GET', `/api/v1/orders/${randomUUID()}`);
      if (answer.ok && answer.status === 404) break;
      if (Date.now() - restarted > RECOVERY_DEADLINE_MS) {
        ctx.problems.push(`${service.spec.name} did not recover within ${RECOVERY_DEADLINE_MS / 1000} s of PostgreSQL's start`);
        break;
      }
      await sleep(100);
    }
    times.push(`${service.spec.name} ${((Date.now() - restarted) / 1000).toFixed(1)} s`);
  }
  ctx.notes.push(`answering from PostgreSQL again after its start: ${times.join(', ')}`);
}

function describe503(latencies: number[]): string {
  if (latencies.length === 0) return 'no 503 answered to an order';
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `${sorted.length} orders answered 503, after p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted.at(-1)} ms`;
}
