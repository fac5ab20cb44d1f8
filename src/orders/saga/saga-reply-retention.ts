import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { ScheduledJob } from '../../platform/scheduling/scheduled-job.js';
import type { SagaReplyLog } from '../persistence/saga-reply-log.js';

/** The scheduler's saga-reply retention (every minute, at a quarter past): records older than SAGA_REPLY_RETENTION go. */
@injectable()
export class SagaReplyRetentionJob implements ScheduledJob {
  readonly name = 'saga-reply-retention';
  readonly cron = '15 * * * * *';

  constructor(
    @inject(TOKENS.SagaReplyLog) private readonly replies: SagaReplyLog,
    @inject(TOKENS.Config) private readonly config: Config,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    const deleted = await this.replies.deleteOlderThan(this.config.SAGA_REPLY_RETENTION);
    if (deleted > 0) this.logger.info('deleted saga reply records past retention', { deleted, retentionMs: this.config.SAGA_REPLY_RETENTION });
  }
}
