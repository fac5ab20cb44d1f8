import type { Behavior } from '../mediator.js';

/**
 * Innermost, commands only: the handler runs inside one database transaction that repositories and the outbox
 * writer reach through the transaction context. The handler's writes and its events commit together or not at all.
 */
export function transactionBehavior(runInTransaction: <T>(work: () => Promise<T>) => Promise<T>): Behavior {
  return (envelope, next) => (envelope.context.type.kind === 'command' ? runInTransaction(next) : next());
}
