/**
 * Row states. The first four keep the Go service's names and meanings; Parked is new.
 * Ready -> Published, or -> Parked after the maximum attempts (an operator puts it back to Ready).
 * Sagas (held for the customer saga) -> Ready when the saga approves, -> Discarded when it does not.
 */
export const OutboxStatus = {
  Ready: 'Ready',
  Published: 'Published',
  Held: 'Sagas',
  Discarded: 'Discarded',
  Parked: 'Parked',
} as const;
export type OutboxStatus = (typeof OutboxStatus)[keyof typeof OutboxStatus];
