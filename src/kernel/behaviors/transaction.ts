import type { Behavior } from '../mediator.js';
import type { UnitOfWorkKind } from '../message.js';

export type UnitOfWorkRunner = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * Innermost, commands only: the handler runs in the unit of work its command asks for (MessageType.unitOfWork),
 * which repositories and the outbox writer reach through the transaction context. Either way the handler's
 * writes and its events commit together or not at all: in one transaction, or in one statement.
 */
export function transactionBehavior(runners: Record<UnitOfWorkKind, UnitOfWorkRunner>): Behavior {
  return (envelope, next) => {
    const { type } = envelope.context;
    return type.kind === 'command' ? runners[type.unitOfWork ?? 'transaction'](next) : next();
  };
}
