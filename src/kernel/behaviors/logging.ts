import type { Behavior } from '../mediator.js';
import { ApplicationError } from '../errors.js';

export interface BehaviorLogger {
  debug(message: string, meta: Record<string, unknown>): void;
  info(message: string, meta: Record<string, unknown>): void;
  error(message: string, meta: Record<string, unknown>): void;
}

/** Outermost: one line per message with its correlation id, outcome and duration. */
export function loggingBehavior(logger: BehaviorLogger): Behavior {
  return async (envelope, next) => {
    const { type, correlationId } = envelope.context;
    const started = performance.now();
    const meta = () => ({ message_type: type.name, kind: type.kind, correlationId, duration_ms: +(performance.now() - started).toFixed(2) });
    try {
      const result = await next(envelope);
      // Queries are the hot read path: keep them out of info logs.
      (type.kind === 'query' ? logger.debug : logger.info).call(logger, `${type.kind} ${type.name} handled`, meta());
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
