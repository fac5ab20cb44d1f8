import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './http-client.js';

/** projection_reads_total{result} summed over the processes that serve http (their /metrics, on PORT). */
export async function projectionReads(ports: number[]): Promise<{ hit: number; miss: number; degraded: number }> {
  const totals = { hit: 0, miss: 0, degraded: 0 };
  for (const port of ports) {
    const answer = await request(port, 'GET', '/metrics', undefined, 5_000);
    if (!answer.ok || answer.status !== 200) continue;
    for (const match of answer.text.matchAll(/^projection_reads_total\{result="(hit|miss|degraded)"\} (\d+)/gm)) totals[match[1] as keyof typeof totals] += Number(match[2]);
  }
  return totals;
}

/**
 * Samples the degraded-read counter until stopped, and says when reads fell back to PostgreSQL: the first and the
 * last sample at which the counter had grown, in ms after `since`.
 */
export class DegradedWindow {
  first: number | undefined;
  last: number | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ports: () => number[],
    private readonly since: number,
  ) {}

  start(): void {
    this.running = this.sample();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async sample(): Promise<void> {
    let previous = (await projectionReads(this.ports())).degraded;
    while (!this.stopped) {
      await sleep(250);
      const now = (await projectionReads(this.ports())).degraded;
      if (now > previous) {
        const at = Date.now() - this.since;
        this.first ??= at;
        this.last = at;
      }
      previous = now;
    }
  }
}
