import { randomUUID } from 'node:crypto';
import type { Service } from '../../composition.js';
import { TOKENS } from '../../tokens.js';
import { TIME_OUT_BATCH_SIZE, TimeOutOrders } from './time-out-orders.js';

/** Batches per run: a backlog after an outage is worked off over a few seconds, not in one long run. */
const MAX_BATCHES_PER_RUN = 10;

/**
 * The scheduler's saga-timeout job (every second): cancels pending orders past their deadline, a bounded
 * batch per transaction, until a batch comes back short. Returns how many orders it timed out.
 *
 * A read-only probe on the same partial index comes first, so that the seconds with nothing due (nearly all
 * of them) cost one index lookup and no command: no transaction, no "command handled" log line each second.
 */
export async function runSagaTimeouts({ mediator, database, container }: Service): Promise<number> {
  const clock = container.resolve<() => Date>(TOKENS.Clock);
  const [due] = await database.$queryRaw<{ any: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM orders WHERE saga_status = 'Pending' AND saga_deadline <= ${clock()}::timestamptz) AS any`;
  if (!due?.any) return 0;
  const correlationId = `saga-timeout-${randomUUID()}`;
  let timedOut = 0;
  for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
    const result = await mediator.send(TimeOutOrders, { limit: TIME_OUT_BATCH_SIZE }, correlationId);
    timedOut += result.timedOut;
    if (result.claimed < TIME_OUT_BATCH_SIZE) break;
  }
  return timedOut;
}
