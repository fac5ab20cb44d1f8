import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../tokens.js';
import type { Config } from '../config.js';
import type { Database } from '../platform/database/database.js';
import type { Logger } from '../platform/observability/logger.js';
import type { ScheduledJob } from '../platform/scheduling/scheduled-job.js';
import { deleteInBatches } from '../platform/database/delete-in-batches.js';
import { deleteReceivedBefore } from './inbox-statements.js';

const BATCH_SIZE = 1_000;
/** Batches per run: a big backlog is worked off over several runs instead of one long, lock-heavy one. */
const MAX_BATCHES = 20;

/**
 * Deletes inbox rows older than the retention (INBOX_RETENTION). A row only has to outlive any redelivery of its
 * message: the broker redelivers within minutes (an unacknowledged message on a lost channel), and the default
 * week also covers a message that sat unacknowledged through a long outage. Returns the count.
 */
export function deleteExpiredInboxRows(database: Database, retentionMs: number): Promise<number> {
  return deleteInBatches(database, deleteReceivedBefore(retentionMs, BATCH_SIZE), BATCH_SIZE, MAX_BATCHES);
}

/** The scheduler's inbox retention (every minute, at half past). */
@injectable()
export class InboxRetentionJob implements ScheduledJob {
  readonly name = 'inbox-retention';
  readonly cron = '30 * * * * *';

  constructor(
    @inject(TOKENS.Database) private readonly database: Database,
    @inject(TOKENS.Config) private readonly config: Config,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    const deleted = await deleteExpiredInboxRows(this.database, this.config.INBOX_RETENTION);
    if (deleted > 0) this.logger.info('deleted inbox rows past retention', { deleted });
  }
}
