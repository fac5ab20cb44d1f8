import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../kernel/actor.js';

/**
 * The correlation id of the work in progress (an HTTP request's X-Request-Id, or a consumed message's header) and,
 * for a request, the authenticated actor it is done for. Log lines and outbox rows pick them up from here, so the id
 * follows an order through HTTP, outbox, broker and consumers, and each line of a request names its caller.
 * One store for both: every AsyncLocalStorage in use costs every promise the process creates.
 */
interface WorkContext {
  readonly correlationId: string;
  readonly actor?: Actor;
}

const storage = new AsyncLocalStorage<WorkContext>();

export function withCorrelationId<T>(correlationId: string, work: () => T, actor?: Actor): T {
  return storage.run(actor ? { correlationId, actor } : { correlationId }, work);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

export function currentActor(): Actor | undefined {
  return storage.getStore()?.actor;
}

/** A client's id is kept if it is short and printable; otherwise a fresh one is made. */
export function acceptCorrelationId(candidate: unknown): string {
  if (typeof candidate === 'string' && /^[\x21-\x7e]{1,128}$/.test(candidate)) return candidate;
  return randomUUID();
}
