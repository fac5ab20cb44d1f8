import type { Behavior } from '../mediator.js';
import type { CommandContext, CommandType } from '../message.js';
import type { UnitOfWork, UnitOfWorkKind } from '../../platform/database/unit-of-work.js';

/** Runs work in a new unit of work of the given kind (platform/database/database.ts: Database.run). */
export type UnitOfWorkRunner = <T>(kind: UnitOfWorkKind, work: (unit: UnitOfWork) => Promise<T>) => Promise<T>;

/**
 * Innermost, commands only: the handler runs in the unit of work its command declares (CommandType.unitOfWork),
 * handed to it in its context. Its writes and its events commit together or not at all.
 */
export function transactionBehavior(run: UnitOfWorkRunner): Behavior {
  return (envelope, next) => {
    const type = envelope.context.type as CommandType;
    return run(type.unitOfWork, (unit) => {
      const context: CommandContext = { ...envelope.context, unit };
      return next({ ...envelope, context });
    });
  };
}
