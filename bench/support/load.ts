/** The two ways the benchmarks load a server: closed loop (N connections, back to back) and open loop (a fixed rate). */

export interface LoadResult {
  /** Requests answered with the expected status. */
  completed: number;
  failed: number;
  /** Latencies of the completed requests in ms, sorted ascending. */
  latencies: number[];
  seconds: number;
}

/** `connections` loops for `seconds`, each sending its next request when the previous one is answered. */
export async function closedLoop(connections: number, seconds: number, send: () => Promise<number>, expected = 204): Promise<LoadResult> {
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const status = await send();
      if (status === expected) latencies.push(performance.now() - sent);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  latencies.sort((a, b) => a - b);
  return { completed: latencies.length, failed, latencies, seconds: (performance.now() - started) / 1000 };
}

/**
 * rate x seconds requests, each leaving on its schedule whether or not earlier ones were answered (open loop,
 * so a slow server cannot slow the load down and hide its queueing). `send` gets the request's index and the
 * performance.now() at which it left.
 */
export async function openLoop<T>(rate: number, seconds: number, send: (index: number, sentAt: number) => Promise<T>): Promise<{ results: T[]; seconds: number }> {
  const pending: Promise<T>[] = [];
  const started = performance.now();
  for (let i = 0; i < Math.round(rate * seconds); i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(i, performance.now()));
  }
  const results = await Promise.all(pending);
  return { results, seconds: (performance.now() - started) / 1000 };
}

export const mergeLoads = (parts: LoadResult[]): LoadResult => ({
  completed: parts.reduce((n, part) => n + part.completed, 0),
  failed: parts.reduce((n, part) => n + part.failed, 0),
  latencies: parts.flatMap((part) => part.latencies).sort((a, b) => a - b),
  seconds: parts.reduce((n, part) => n + part.seconds, 0),
});
