import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../../tokens.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../../kernel/message.js';
import type { Clock } from '../../kernel/clock.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { OrderRepository } from '../persistence/order-repository.js';
import { countSagaOutcomeAfterCommit } from './saga-outcome-metrics.js';

export const TIME_OUT_BATCH_SIZE = 100;

export interface TimeOutResult {
  timedOut: number;
  claimed: number;
}

export const TimeOutOrders = defineCommand('TimeOutOrders', z.object({ limit: z.number().int().min(1).max(1000).default(TIME_OUT_BATCH_SIZE) })).returning<TimeOutResult>();

/**
 * Cancels (reason TimedOut) up to `limit` pending orders whose saga deadline has passed, in one transaction.
 * Deadlines are compared with the service's clock, the same clock that set them and that the aggregate checks
 * them against. `claimed` tells the scheduler whether a full batch came back, i.e. whether to run again at once.
 */
@injectable()
export class TimeOutOrdersHandler implements Handler<typeof TimeOutOrders> {
  constructor(
    @inject(TOKENS.OrderRepository) private readonly orders: OrderRepository,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
  ) {}

  async handle({ limit }: PayloadOf<typeof TimeOutOrders>, { unit }: CommandContext): Promise<TimeOutResult> {
    const now = this.clock();
    const due = await this.orders.lockDueForTimeout(unit, now, limit);
    let timedOut = 0;
    for (const id of due) {
      // Already locked by the query above, so this only loads it.
      const order = await this.orders.getForUpdate(unit, id);
      if (!order || order.timeOut(now) !== 'applied') continue;
      await this.orders.save(unit, order);
      countSagaOutcomeAfterCommit(unit, this.metrics, order);
      timedOut++;
    }
    return { timedOut, claimed: due.length };
  }
}
