import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from './prisma.js';
import { runInStatementContext, runInTransactionContext } from './transaction-context.js';
import { isDatabaseUnavailable, isRetryableConflict, toUnavailable } from './database-errors.js';

export interface TransactionRunnerOptions {
  /** Longest a transaction may wait for a pooled connection and run, in milliseconds. */
  timeoutMs: number;
  /** Attempts for a unit of work that lost a serialization conflict or a deadlock. */
  maxAttempts?: number;
}

type UnitAttempt<T> = () => Promise<{ result: T; afterCommit: (() => void)[] }>;

/**
 * Runs work in one PostgreSQL transaction, reachable through the transaction context. A serialization
 * conflict or deadlock is retried a bounded number of times with backoff; a database that cannot be reached
 * becomes an UnavailableError (503). Callbacks registered with onCommit run after the commit.
 */
export function createTransactionRunner(database: Database, options: TransactionRunnerOptions) {
  return function runInTransaction<T>(work: () => Promise<T>): Promise<T> {
    return withRetries(options, () =>
      database.$transaction((tx) => runInTransactionContext(tx, work), {
        maxWait: options.timeoutMs,
        timeout: Math.max(options.timeoutMs * 5, 10_000),
      }),
    );
  };
}

/**
 * Runs work as a single-statement unit (see MessageType.unitOfWork): no BEGIN or COMMIT, the same retries and
 * 503 mapping as a transaction, and the onCommit callbacks once the work (its one write) has returned.
 */
export function createStatementRunner(database: Database, options: TransactionRunnerOptions) {
  return function runAsStatement<T>(work: () => Promise<T>): Promise<T> {
    return withRetries(options, () => runInStatementContext(database, work));
  };
}

async function withRetries<T>(options: TransactionRunnerOptions, attempt: UnitAttempt<T>): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      const { result, afterCommit } = await attempt();
      for (const callback of afterCommit) callback();
      return result;
    } catch (error) {
      if (isRetryableConflict(error) && attemptNumber < maxAttempts) {
        await sleep(10 * 2 ** attemptNumber * (0.5 + Math.random()));
        continue;
      }
      if (isDatabaseUnavailable(error)) throw toUnavailable();
      throw error;
    }
  }
}
