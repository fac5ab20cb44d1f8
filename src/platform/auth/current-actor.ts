import { AsyncLocalStorage } from 'node:async_hooks';
import type { Actor } from '../../kernel/actor.js';

/**
 * The authenticated actor of the request in progress, like the correlation id beside it: the logger adds its
 * `sub` to every line the request writes.
 */
const storage = new AsyncLocalStorage<Actor | undefined>();

export function withActor<T>(actor: Actor | undefined, work: () => T): T {
  return storage.run(actor, work);
}

export function currentActor(): Actor | undefined {
  return storage.getStore();
}
