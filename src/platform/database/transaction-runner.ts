import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from './prisma.js';
import { runInTransactionContext } from './transaction-context.js';
import { isDatabaseUnavailable, isRetryableConflict, toUnavailable } from './database-errors.js';

export interface TransactionRunnerOptions {
  /** Longest a transaction may wait for a pooled connection and run, in milliseconds. */
  timeoutMs: number;
  /** Attempts for a transaction that lost a serialization conflict or a deadlock. */
  maxAttempts?: number;
}

/**
 * Runs work in one PostgreSQL transaction, reachable through the transaction context. A serialization
 * conflict or deadlock is retried a bounded number of times with backoff; a database that cannot be reached
 * becomes an UnavailableError (503). Callbacks registered with onCommit run after the commit.
 */
export function createTransactionRunner(database: Database, options: TransactionRunnerOptions) {
  const maxAttempts = options.maxAttempts ?? 3;
  return async function runInTransaction<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { result, afterCommit } = await database.$transaction((tx) => runInTransactionContext(tx, work), {
          maxWait: options.timeoutMs,
          timeout: Math.max(options.timeoutMs * 5, 10_000),
        });
        for (const callback of afterCommit) callback();
        return result;
      } catch (error) {
        if (isRetryableConflict(error) && attempt < maxAttempts) {
          await sleep(10 * 2 ** attempt * (0.5 + Math.random()));
          continue;
        }
        if (isDatabaseUnavailable(error)) throw toUnavailable();
        throw error;
      }
    }
  };
}
