/** IPC between a benchmark and its service processes (bench/support/service-process.ts). */
export type FromService =
  | { type: 'ready'; port: number | undefined }
  | { type: 'commits'; commits: [correlationId: string, committedAtMs: number][] }
  | { type: 'cpu'; seconds: number };
export type ToService = { type: 'cpu' } | { type: 'cpu-reset' } | { type: 'stop' };

/** Milliseconds since the epoch with sub-millisecond resolution: comparable across processes on one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
