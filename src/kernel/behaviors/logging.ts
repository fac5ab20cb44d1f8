import type { Behavior } from '../mediator.js';
import { ApplicationError } from '../errors.js';

export interface BehaviorLogger {
  debug(message: string, meta: Record<string, unknown>): void;
  info(message: string, meta: Record<string, unknown>): void;
  error(message: string, meta: Record<string, unknown>): void;
  isLevelEnabled(level: string): boolean;
}

/** Outermost: one line per message with its correlation id, outcome and duration. */
export function loggingBehavior(logger: BehaviorLogger): Behavior {
  return async (envelope, next) => {
    const { type, correlationId } = envelope.context;
    const started = performance.now();
    const meta = () => ({ message_type: type.name, kind: type.kind, correlationId, duration_ms: +(performance.now() - started).toFixed(2) });
    try {
      const result = await next(envelope);
      // Queries are the hot read path: kept out of info logs, and no line is even built unless debug is on.
      if (type.kind === 'command') logger.info(`command ${type.name} handled`, meta());
      else if (logger.isLevelEnabled('debug')) logger.debug(`query ${type.name} handled`, meta());
      return result;
    } catch (error) {
      if (error instanceof ApplicationError) {
        logger.info(`${type.kind} ${type.name} refused: ${error.message}`, { ...meta(), outcome: error.kind, data: error.data });
      } else {
        logger.error(`${type.kind} ${type.name} failed`, { ...meta(), error: (error as Error)?.stack ?? String(error) });
      }
      throw error;
    }
  };
}
