import { z } from 'zod';

const state = z.enum(['up', 'down']);

/** GET /readyz's answer (200 when ready, 503 otherwise). `auth` (the identity service's keys are loaded) only with authentication on. */
export const readinessReport = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ postgres: state, redis: state, rabbitmq: state, auth: state.optional() }),
  })
  .meta({ id: 'Readiness' });
export type ReadinessReport = z.output<typeof readinessReport>;
export type DependencyName = keyof ReadinessReport['checks'];
/** Resolves when the dependency answers; rejects or hangs when it does not (the caller bounds the wait). */
export type ReadinessChecks = Partial<Record<DependencyName, () => Promise<unknown>>>;

/** GET /healthcheck's answer, while the process runs. */
export const healthReport = z.object({ status: z.literal('OK') }).meta({ id: 'Health' });

/** Runs every check at once, each bounded by timeoutMs, and reports ready only if all are up. */
export async function checkReadiness(checks: ReadinessChecks, timeoutMs: number): Promise<ReadinessReport> {
  const names = Object.keys(checks) as DependencyName[];
  const results = await Promise.all(names.map((name) => withTimeout(checks[name]!(), timeoutMs).then(() => 'up' as const, () => 'down' as const)));
  const report = Object.fromEntries(names.map((name, i) => [name, results[i]!])) as ReadinessReport['checks'];
  return { status: results.every((r) => r === 'up') ? 'ready' : 'unavailable', checks: report };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
