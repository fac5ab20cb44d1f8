import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventCapture } from './event-capture.js';
import type { FaultEnvironment } from './environment.js';
import type { OrderLoad } from './load.js';

/**
 * Samples the pipeline every few seconds while a step runs: orders by saga status, the outbox backlog, the
 * queues' depths. Printed when the step fails (or always with FAULTS_VERBOSE=1), to show where work piled up.
 */
export class Progress {
  readonly lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly env: FaultEnvironment,
    private readonly capture: EventCapture,
    private readonly load: OrderLoad,
  ) {}

  start(everyMs = 5_000): void {
    this.timer = setInterval(() => void this.sample().catch((error) => this.note(`sample failed: ${String(error)}`)), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  note(text: string): void {
    const line = `${((Date.now() - this.started) / 1000).toFixed(0).padStart(4)} s  ${text}`;
    this.lines.push(line);
    if (process.env.FAULTS_VERBOSE === '1') console.log(`[faults] ${line}`);
  }

  private async sample(): Promise<void> {
    const { rows } = await this.env.pool.query<{ saga_status: string; n: number }>('SELECT saga_status, count(*)::int AS n FROM orders GROUP BY saga_status');
    const { rows: outbox } = await this.env.pool.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM outbox WHERE status IN ('Ready', 'Parked') GROUP BY status`);
    const queues = await Promise.all(['OrderSaga', 'CustomerSaga', 'Orders'].map(async (queue) => `${queue} ${await this.capture.queueDepth(queue).catch(() => '?')}`));
    const orders = rows.map((row) => `${row.saga_status} ${row.n}`).join(', ');
    const backlog = outbox.map((row) => `${row.status} ${row.n}`).join(', ') || 'Ready 0';
    const { answers, slowestMs } = this.load.takeWindow();
    this.note(
      `sent ${this.load.stats.sent}, acked ${this.load.stats.acknowledged} (${answers} answers, slowest ${slowestMs} ms) | ${orders} | ` +
        `outbox ${backlog} | queues ${queues.join(', ')} | captured ${this.capture.distinctEvents} | stalled ${this.pressure()}`,
    );
  }

  private lastPressure: Record<string, number> = {};
  private lastPressureAt = Date.now();

  /** Share of the time since the last sample in which some task waited for CPU or for I/O (Linux PSI). */
  private pressure(): string {
    const now = Date.now();
    const parts = (['cpu', 'io'] as const).map((kind) => {
      const total = stallMicroseconds(kind);
      if (total === undefined) return `${kind} ?`;
      const share = this.lastPressure[kind] === undefined ? 0 : (total - this.lastPressure[kind]!) / 1000 / (now - this.lastPressureAt);
      this.lastPressure[kind] = total;
      return `${kind} ${(share * 100).toFixed(0)}%`;
    });
    this.lastPressureAt = now;
    return parts.join(', ');
  }
}

/** Microseconds in which some task waited for the resource since boot (Linux pressure stall information). */
function stallMicroseconds(kind: 'cpu' | 'io'): number | undefined {
  try {
    return Number(/some .*total=(\d+)/.exec(readFileSync(`/proc/pressure/${kind}`, 'utf8'))?.[1] ?? Number.NaN);
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to maxWaitMs) for a second in which tasks waited for CPU less than half the time, so that a step's
 * load does not start on top of the previous step's leftovers (RabbitMQ recovering after start_app, say).
 * Returns how long it waited.
 */
export async function waitForQuietCpu(maxWaitMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < maxWaitMs) {
    const before = stallMicroseconds('cpu');
    await sleep(1_000);
    const after = stallMicroseconds('cpu');
    if (before === undefined || after === undefined || (after - before) / 1_000_000 < 0.5) break;
  }
  return Date.now() - started;
}
