const FIRST_RETRY_MS = 250;
const LONGEST_RETRY_MS = 60_000;

/**
 * Delay before the next attempt of a row that failed `failures` times: doubling from 250 ms, capped at a
 * minute, with jitter (50-100% of the step) so rows that failed together, such as a whole batch on a lost
 * connection, do not all come back in the same instant.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const step = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(step * (0.5 + random() / 2));
}
