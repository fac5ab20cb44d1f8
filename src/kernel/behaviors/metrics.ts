import type { Behavior } from '../mediator.js';
import { ApplicationError } from '../errors.js';

export interface DurationRecorder {
  observe(labels: { kind: string; type: string; outcome: string }, seconds: number): void;
}

/** Duration of each message by kind, type and outcome ("ok", an ApplicationError kind, or "error" for a bug). */
export function metricsBehavior(recorder: DurationRecorder): Behavior {
  return async (envelope, next) => {
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await next(envelope);
    } catch (error) {
      outcome = error instanceof ApplicationError ? error.kind : 'error';
      throw error;
    } finally {
      const { kind, name } = envelope.context.type;
      recorder.observe({ kind, type: name, outcome }, (performance.now() - started) / 1000);
    }
  };
}
