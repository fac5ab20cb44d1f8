import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Clock } from '../../kernel/clock.js';
import type { Mediator } from '../../kernel/mediator.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { ScheduledJob } from '../../platform/scheduling/scheduled-job.js';
import type { OrderReads } from '../persistence/order-reads.js';
import { TIME_OUT_BATCH_SIZE, TimeOutOrders } from './time-out-orders.js';

/** Batches per run: a backlog after an outage is worked off over a few seconds, not in one long run. */
const MAX_BATCHES_PER_RUN = 10;

/**
 * Every second (SAGA_TIMEOUT is minutes in production but may be a second in tests and demos): cancels pending
 * orders past their deadline, a bounded batch per transaction, until a batch comes back short.
 *
 * A read-only probe on the same partial index comes first, so that the seconds with nothing due (nearly all of
 * them) cost one index lookup and no command: no transaction, no "command handled" log line each second.
 */
@injectable()
export class SagaTimeoutJob implements ScheduledJob {
  readonly name = 'saga-timeouts';
  readonly cron = '* * * * * *';

  constructor(
    @inject(TOKENS.Mediator) private readonly mediator: Mediator,
    @inject(TOKENS.OrderReads) private readonly reads: OrderReads,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    if (!(await this.reads.anyDueForTimeout(this.clock()))) return;
    const correlationId = `saga-timeout-${randomUUID()}`;
    let timedOut = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      const result = await this.mediator.send(TimeOutOrders, { limit: TIME_OUT_BATCH_SIZE }, correlationId);
      timedOut += result.timedOut;
      if (result.claimed < TIME_OUT_BATCH_SIZE) break;
    }
    if (timedOut > 0) this.logger.info('pending sagas timed out', { timedOut });
  }
}
