import type { Behavior } from '../mediator.js';

/**
 * Turns infrastructure failures into application errors (e.g. "database unreachable" -> UnavailableError) for
 * commands and queries alike, so that they are logged and counted as the client-facing outcome they are, not as bugs.
 */
export function errorTranslationBehavior(translate: (error: unknown) => Error | undefined): Behavior {
  return async (_envelope, next) => {
    try {
      return await next();
    } catch (error) {
      throw translate(error) ?? error;
    }
  };
}
