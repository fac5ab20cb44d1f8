export const PAYMENT_METHODS = ['Online', 'Card', 'Cash'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** The saga's states. Pending is the only one that moves; the other three are final. */
export type SagaStatus = 'Pending' | 'Approved' | 'Rejected' | 'TimedOut';

/** What happens to the events held for the saga when it ends. */
export type HeldEventsFate = 'release' | 'discard';

/** Rejected and timed-out orders keep their id reserved but are invisible to clients (404, absent from lists). */
export function isVisibleSaga(status: SagaStatus): boolean {
  return status === 'Pending' || status === 'Approved';
}
