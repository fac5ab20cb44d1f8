import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../tokens.js';
import type { Config } from '../config.js';
import type { Database } from '../platform/database/database.js';
import type { Logger } from '../platform/observability/logger.js';
import type { ScheduledJob } from '../platform/scheduling/scheduled-job.js';
import { sql } from '../platform/database/sql.js';
import { deleteInBatches } from '../platform/database/delete-in-batches.js';
import type { Metrics } from '../platform/observability/metrics.js';
import { OUTBOX_READY_CHANNEL } from './outbox-notifier.js';
import { countByStatus, deletePublishedBefore, gaugeCounts, retryParked } from './persistence/outbox-upkeep.js';

/** Rows per retention DELETE: short statements that never hold many locks or bloat one transaction. */
export const RETENTION_BATCH = 5_000;
/** Bounds one retention run (this many batches); whatever is left waits for the next run. */
const RETENTION_MAX_BATCHES = 100;

/** Sets the backlog, oldest-ready-age and parked gauges from the table. */
export async function refreshOutboxGauges(database: Database, metrics: Metrics): Promise<void> {
  const [row] = await database.read(gaugeCounts());
  metrics.outboxReadyBacklog.set(row?.ready ?? 0);
  metrics.outboxOldestReadyAge.set(Math.max(0, row?.oldestSeconds ?? 0));
  metrics.outboxParkedRows.set(row?.parked ?? 0);
}

/** Deletes rows published more than retentionMs ago, a bounded batch per statement, until a batch comes back short. */
export function deletePublishedRows(database: Database, retentionMs: number): Promise<number> {
  return deleteInBatches(database, deletePublishedBefore(retentionMs, RETENTION_BATCH), RETENTION_BATCH, RETENTION_MAX_BATCHES);
}

/** The operator's retry: parked rows become Ready with a fresh attempt budget, and relays are woken. */
export async function retryParkedRows(database: Database): Promise<number> {
  const rows = await database.run('statement', (unit) => unit.write(retryParked()));
  if (rows.length > 0) await database.read(sql`SELECT pg_notify(${OUTBOX_READY_CHANNEL}, '')`);
  return rows.length;
}

export function countRowsByStatus(database: Database): Promise<{ status: string; rows: number; oldest: Date | null }[]> {
  return database.read(countByStatus());
}

/** The scheduler's outbox retention (every minute): published rows older than OUTBOX_RETENTION go. */
@injectable()
export class OutboxRetentionJob implements ScheduledJob {
  readonly name = 'outbox-retention';
  readonly cron = '0 * * * * *';

  constructor(
    @inject(TOKENS.Database) private readonly database: Database,
    @inject(TOKENS.Config) private readonly config: Config,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    const deleted = await deletePublishedRows(this.database, this.config.OUTBOX_RETENTION);
    if (deleted > 0) this.logger.info('deleted published outbox rows past retention', { deleted, retentionMs: this.config.OUTBOX_RETENTION });
  }
}
