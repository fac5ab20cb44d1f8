import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Config } from '../../config.js';
import type { Clock } from '../../kernel/clock.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { ScheduledJob } from '../../platform/scheduling/scheduled-job.js';
import type { SagaReads } from '../persistence/saga-reads.js';

/** The age buckets of saga_pending (label older_than): pending sagas whose order is at least this old. */
export const PENDING_AGE_BUCKETS: readonly { label: string; ms: number }[] = [
  { label: '0s', ms: 0 },
  { label: '30s', ms: 30_000 },
  { label: '1m', ms: 60_000 },
  { label: '2m', ms: 120_000 },
  { label: '5m', ms: 300_000 },
  { label: '15m', ms: 900_000 },
  { label: '1h', ms: 3_600_000 },
];

/**
 * Every bucket of saga_pending at 0 until a job run sets it: a labelled gauge has no series before its first set,
 * so a process without the scheduler role (or one whose first run is still 5 s away) would export nothing for the
 * alerts and panels to read (the composition root calls this once per process).
 */
export function exportNoPendingSagas(metrics: Metrics): void {
  for (const bucket of PENDING_AGE_BUCKETS) metrics.sagaPending.set({ older_than: bucket.label }, 0);
}

/**
 * The stuck-saga gauges (scheduler role, every 5 seconds): the oldest pending saga's age and the pending sagas by
 * age. One statement on the pending orders' partial index, whose rows are the sagas in flight (a handful while the
 * customer service answers; at most its order rate times SAGA_TIMEOUT when it does not). Every scheduler sets the
 * same values, so several of them agree; processes without the role export 0 (alerts take the max).
 */
@injectable()
export class SagaGaugesJob implements ScheduledJob {
  readonly name = 'saga-gauges';
  readonly cron = '*/5 * * * * *';

  constructor(
    @inject(TOKENS.SagaReads) private readonly reads: SagaReads,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Config) private readonly config: Config,
  ) {}

  async run(): Promise<void> {
    const now = this.clock();
    const stats = await this.reads.pendingStats(PENDING_AGE_BUCKETS.map((bucket) => new Date(now.getTime() - bucket.ms)));
    const oldestMs = stats.oldestCreatedAt ? now.getTime() - stats.oldestCreatedAt.getTime() : 0;
    this.metrics.sagaPendingOldestAge.set(Math.max(0, oldestMs) / 1000);
    PENDING_AGE_BUCKETS.forEach((bucket, index) => this.metrics.sagaPending.set({ older_than: bucket.label }, stats.createdBy[index] ?? 0));
    this.metrics.sagaTimeout.set(this.config.SAGA_TIMEOUT / 1000);
  }
}
