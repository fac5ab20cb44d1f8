import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The correlation id of the work in progress: an HTTP request's X-Request-Id, or a consumed message's header.
 * Log lines and outbox rows pick it up from here, so it follows an order through HTTP, outbox, broker and consumers.
 */
const storage = new AsyncLocalStorage<string>();

export function withCorrelationId<T>(correlationId: string, work: () => T): T {
  return storage.run(correlationId, work);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}

/** A client's id is kept if it is short and printable; otherwise a fresh one is made. */
export function acceptCorrelationId(candidate: unknown): string {
  if (typeof candidate === 'string' && /^[\x21-\x7e]{1,128}$/.test(candidate)) return candidate;
  return randomUUID();
}
