import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database } from './prisma.js';
import type { Prisma } from '../../generated/prisma/client.js';

export type Transaction = Prisma.TransactionClient;

interface UnitOfWork {
  /** The open transaction, or (a single-statement unit) the pool, where each statement commits by itself. */
  tx: Transaction;
  afterCommit: (() => void)[];
}

/**
 * The transaction of the command being handled. The transaction behaviour opens it; repositories and the outbox
 * writer find it here, so no object holds a mutable "current transaction" field that concurrent requests share.
 */
const storage = new AsyncLocalStorage<UnitOfWork>();

/** Runs work with tx as the current transaction; returns the work's result and the callbacks to run after commit. */
export async function runInTransactionContext<T>(tx: Transaction, work: () => Promise<T>): Promise<{ result: T; afterCommit: (() => void)[] }> {
  const unit: UnitOfWork = { tx, afterCommit: [] };
  const result = await storage.run(unit, work);
  return { result, afterCommit: unit.afterCommit };
}

/**
 * Runs work as a single-statement unit: no transaction is opened, reads and writes go to the pool, and the work
 * must make all its writes in one statement. Returns the callbacks to run once that statement has committed.
 */
export function runInStatementContext<T>(database: Database, work: () => Promise<T>): Promise<{ result: T; afterCommit: (() => void)[] }> {
  return runInTransactionContext(database, work);
}

/** For writes: the command's transaction, or a programming error when code writes outside a command. */
export function requireTransaction(): Transaction {
  const unit = storage.getStore();
  if (!unit) throw new Error('no transaction in context: writes must run inside a command handled by the mediator');
  return unit.tx;
}

/** For reads: the command's transaction when there is one (to see its own writes), else the pool. */
export function reader(database: Database): Transaction | Database {
  return storage.getStore()?.tx ?? database;
}

/** Runs callback once the current transaction has committed (never if it rolls back). */
export function onCommit(callback: () => void): void {
  const unit = storage.getStore();
  if (!unit) throw new Error('onCommit outside a transaction');
  unit.afterCommit.push(callback);
}
