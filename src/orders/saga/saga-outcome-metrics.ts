import type { UnitOfWork } from '../../platform/database/unit-of-work.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { Order } from '../domain/order.js';
import { SagaStatus } from '../domain/order-status.js';

const RESULT_LABEL: Record<Exclude<SagaStatus, 'Pending'>, 'approved' | 'rejected' | 'timed_out'> = {
  Approved: 'approved',
  Rejected: 'rejected',
  TimedOut: 'timed_out',
};

/**
 * Counts the end of an order's saga once the transaction that ended it has committed: a rolled-back or
 * retried transaction must not count, and a reply that was ignored never reaches here.
 */
export function countSagaOutcomeAfterCommit(unit: UnitOfWork, metrics: Metrics, order: Order): void {
  const { sagaStatus, sagaEndedAt, createdAt } = order.snapshot;
  if (sagaStatus === SagaStatus.Pending || !sagaEndedAt) return;
  const result = RESULT_LABEL[sagaStatus];
  const seconds = Math.max(0, sagaEndedAt.getTime() - createdAt.getTime()) / 1000;
  unit.afterCommit(() => {
    metrics.sagaOutcomes.inc({ result });
    metrics.sagaTimeToOutcome.observe({ result }, seconds);
  });
}
