/** `auth` (the identity service's keys are loaded) is checked only when authentication is on. */
export type DependencyName = 'postgres' | 'redis' | 'rabbitmq' | 'auth';
/** Resolves when the dependency answers; rejects or hangs when it does not (the caller bounds the wait). */
export type ReadinessChecks = Partial<Record<DependencyName, () => Promise<unknown>>>;

export interface ReadinessReport {
  status: 'ready' | 'unavailable';
  checks: Partial<Record<DependencyName, 'up' | 'down'>>;
}

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
