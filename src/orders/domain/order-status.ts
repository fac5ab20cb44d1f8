export const PAYMENT_METHODS = ['Online', 'Card', 'Cash'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** The saga's states. Pending is the only one that moves; the other three are final. */
export const SagaStatus = {
  Pending: 'Pending',
  Approved: 'Approved',
  Rejected: 'Rejected',
  TimedOut: 'TimedOut',
} as const;
export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];

/** The states in which an order is visible to clients. */
export const VISIBLE_SAGA_STATUSES: readonly SagaStatus[] = [SagaStatus.Pending, SagaStatus.Approved];

/** What happens to the events held for the saga when it ends. */
export type HeldEventsFate = 'release' | 'discard';

/** Rejected and timed-out orders keep their id reserved but are invisible to clients (404, absent from lists). */
export function isVisibleSaga(status: SagaStatus): boolean {
  return VISIBLE_SAGA_STATUSES.includes(status);
}
