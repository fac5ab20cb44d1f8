import { z } from 'zod';
import { defineCommand } from '../../kernel/message.js';
import type { Handler } from '../../kernel/mediator.js';
import { requireTransaction } from '../../platform/database/transaction-context.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { PrismaOrderRepository } from '../persistence/prisma-order-repository.js';
import { countSagaOutcomeAfterCommit } from './saga-outcome-metrics.js';

export const TIME_OUT_BATCH_SIZE = 100;

const timeOutOrdersSchema = z.object({ limit: z.number().int().min(1).max(1000).default(TIME_OUT_BATCH_SIZE) });
export interface TimeOutResult {
  timedOut: number;
  claimed: number;
}
export const TimeOutOrders = defineCommand<typeof timeOutOrdersSchema, TimeOutResult>('TimeOutOrders', timeOutOrdersSchema);

/**
 * Cancels (reason TimedOut) up to `limit` pending orders whose saga deadline has passed, in one transaction.
 *
 * The query walks the partial index orders_pending_saga_deadline_idx (only pending orders, by deadline), and
 * SKIP LOCKED makes it pass over orders locked by someone else: a reply being applied right now (which then
 * wins, and the next run finds the order no longer pending) or another scheduler's batch, so several
 * schedulers split the work instead of queueing behind each other. Deadlines are compared with the service's
 * clock, the same clock that set them and that the aggregate checks them against.
 *
 * `claimed` tells the scheduler whether a full batch came back, i.e. whether to run again at once.
 */
export function timeOutOrdersHandler(orders: PrismaOrderRepository, clock: () => Date, metrics: Metrics): Handler<typeof TimeOutOrders> {
  return async ({ limit }) => {
    const now = clock();
    const due = await requireTransaction().$queryRaw<{ id: string }[]>`
      SELECT id FROM orders
      WHERE saga_status = 'Pending' AND saga_deadline <= ${now}::timestamptz
      ORDER BY saga_deadline
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`;
    let timedOut = 0;
    for (const { id } of due) {
      // Already locked by the query above, so this only loads it.
      const order = await orders.getForUpdate(id);
      if (!order || order.timeOut(now) !== 'applied') continue;
      await orders.save(order);
      countSagaOutcomeAfterCommit(metrics, order);
      timedOut++;
    }
    return { timedOut, claimed: due.length };
  };
}
