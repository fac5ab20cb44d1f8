import type { TestService } from './service.js';

/**
 * Polls until probe() gives a value other than undefined or false, and returns it. The deadline only stops a
 * hung test; it never decides the result.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, deadlineMs = 90_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A counter's value, or a histogram's count, summed over the series whose labels match, from the service's registry. */
export async function counter(t: TestService, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = t.service.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = (await metric.get()) as { values: { value: number; labels: Record<string, unknown>; metricName?: string }[] };
  // A histogram's series are its buckets, sum and count (each named): its count is the number of observations.
  const countSeries = (metricName: string | undefined) => metricName === undefined || metricName === name || metricName === `${name}_count`;
  return values
    .filter((value) => countSeries(value.metricName) && Object.entries(labels).every(([key, label]) => value.labels[key] === label))
    .reduce((sum, value) => sum + value.value, 0);
}
