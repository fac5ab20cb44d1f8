import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { TimeoutError, withTimeout } from '../with-timeout.js';
import type { Logger } from '../observability/logger.js';
import type { DatabasePoolUse } from '../observability/metrics.js';
import type { Sql } from './sql.js';
import { StatementUnit, TransactionUnit, type UnitOfWork, type UnitOfWorkKind } from './unit-of-work.js';
import { isDatabaseUnavailable, isRetryableConflict, toUnavailable } from './database-errors.js';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** Bounds connecting, waiting for a pooled connection, and (times five, at least 10 s) a statement or a unit. */
  timeoutMs: number;
  /** Attempts for a unit of work that lost a serialization conflict or a deadlock. */
  maxAttempts?: number;
  applicationName?: string;
  /**
   * session (default): each pooled connection is a PostgreSQL session of its own, and the timeouts are set once
   * per connection. transaction: `url` is a transaction pooler (PgBouncer pool_mode=transaction), which refuses
   * session settings at connect and would share them with other clients anyway: each transaction sets its own
   * (SET LOCAL, sent with its BEGIN), and single statements run under the server's defaults for the role.
   * Prepared statements (Sql.prepared) go by name only in session mode: behind a transaction pooler the next
   * transaction may run on a server connection where the name was never prepared.
   */
  poolMode?: 'session' | 'transaction';
  /** Told (once) when the server refuses the session settings: a transaction pooler with poolMode session. */
  logger?: Logger;
  /** Told how long each transaction waited for its pooled connection, in seconds (db_pool_wait_seconds). */
  onPoolWait?: (seconds: number) => void;
}

/**
 * PostgreSQL for the whole service: one pool, and units of work on it. Every statement runs either alone
 * (`read`, for queries and jobs that read) or inside a unit (`run`), which is the only way anything is written.
 * A unit that loses a serialization conflict or a deadlock runs again (bounded, with backoff); a database that
 * cannot be reached becomes an UnavailableError (503); a unit that runs longer than its bound is cut off and its
 * connection destroyed, so that its locks go with it.
 */
export class Database {
  readonly pool: pg.Pool;
  private readonly unitTimeoutMs: number;
  /** The statements that open a transaction. */
  private readonly opening: readonly string[];
  /** Whether prepared statements go by name (session pool mode). */
  private readonly named: boolean;
  private toldPoolMode = false;

  constructor(private readonly options: DatabaseOptions) {
    this.pool = createPool(options);
    this.unitTimeoutMs = statementTimeoutOf(options);
    this.named = options.poolMode !== 'transaction';
    this.opening = this.named ? ['BEGIN'] : openingWithTimeouts(this.unitTimeoutMs);
  }

  /** One statement outside any unit: a read (a query's, a job's, a tool's). */
  async read<Row>(statement: Sql<Row>): Promise<Row[]> {
    try {
      return (await this.pool.query(statement.toQuery(this.named))).rows as Row[];
    } catch (error) {
      this.explainRefusedSettings(error);
      throw isDatabaseUnavailable(error) ? toUnavailable() : error;
    }
  }

  /**
   * Runs work as a unit of the given kind; its afterCommit callbacks run once it committed. A transaction may carry
   * planner settings of its own (SET LOCAL, sent with its BEGIN and first statement: no round trip of their own).
   */
  async run<T>(kind: UnitOfWorkKind, work: (unit: UnitOfWork) => Promise<T>, options: { localSettings?: LocalSettings } = {}): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    const opening = options.localSettings ? [...this.opening, ...setLocal(options.localSettings)] : this.opening;
    for (let attempt = 1; ; attempt++) {
      try {
        const { result, callbacks } = kind === 'transaction' ? await this.inTransaction(work, opening) : await this.inStatement(work);
        for (const callback of callbacks) callback();
        return result;
      } catch (error) {
        if (isRetryableConflict(error) && attempt < maxAttempts) {
          await sleep(10 * 2 ** attempt * (0.5 + Math.random()));
          continue;
        }
        this.explainRefusedSettings(error);
        if (isDatabaseUnavailable(error) || error instanceof TimeoutError) throw toUnavailable();
        throw error;
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** The pool's connections now; a connection being opened counts as busy. */
  poolUse(): DatabasePoolUse {
    const { totalCount, idleCount, waitingCount } = this.pool;
    return { busy: totalCount - idleCount, idle: idleCount, waiting: waitingCount, max: this.options.poolSize };
  }

  /**
   * PgBouncer answers the connection's session settings with "unsupported startup parameter"; every request then
   * gets a 503, and the one line that says why is this.
   */
  private explainRefusedSettings(error: unknown): void {
    if (this.toldPoolMode || !/unsupported startup parameter/i.test(String((error as Error)?.message))) return;
    this.toldPoolMode = true;
    this.options.logger?.error('PostgreSQL refused the session settings: DATABASE_URL looks like a transaction pooler; set DATABASE_POOL_MODE=transaction and DATABASE_LISTEN_URL (README, "PgBouncer")', {
      error: (error as Error).message,
    });
  }

  private async inStatement<T>(work: (unit: UnitOfWork) => Promise<T>) {
    const unit = new StatementUnit(this.pool, this.named);
    const result = await withTimeout(work(unit), this.unitTimeoutMs, 'a single-statement unit of work');
    return { result, callbacks: unit.callbacks };
  }

  private async inTransaction<T>(work: (unit: UnitOfWork) => Promise<T>, opening: readonly string[]) {
    const asked = performance.now();
    // A wait that ends in the pool's timeout is counted too: it is the longest kind.
    const connection = await this.pool.connect().finally(() => this.options.onPoolWait?.((performance.now() - asked) / 1000));
    const unit = new TransactionUnit(connection, opening, this.named);
    try {
      const result = await withTimeout(
        work(unit).then(async (value) => {
          if (unit.started && !unit.committed) await connection.query('COMMIT');
          return value;
        }),
        this.unitTimeoutMs,
        'a transaction',
      );
      connection.release();
      return { result, callbacks: unit.callbacks };
    } catch (error) {
      await this.endFailed(connection, unit, error);
      throw error;
    }
  }

  /**
   * After a failure: roll back what is open and give the connection back. A unit cut off by its bound may still
   * be running, and a rollback that fails leaves the connection in an unknown state: either way the connection is
   * destroyed (the server rolls back as it closes), never handed to someone else.
   */
  private async endFailed(connection: pg.PoolClient, unit: TransactionUnit, error: unknown): Promise<void> {
    if (error instanceof TimeoutError || isClientTimeout(error)) return connection.release(error as Error);
    // Nothing open: no statement ran, or the work failed after its writeAndCommit committed (a bug in the work).
    if (!unit.started || unit.committed) return connection.release();
    const failed = await withTimeout(connection.query('ROLLBACK'), this.options.timeoutMs, 'rollback').then(
      () => undefined,
      (rollbackError: unknown) => rollbackError,
    );
    connection.release(failed instanceof Error ? failed : undefined);
  }
}

/**
 * The pool. Every connection keeps an 'error' listener for its whole life: pg-pool takes its own off a connection while it is
 * checked out, and a connection that PostgreSQL ends then (terminated, server shutting down) would emit 'error'
 * with no listener, which ends the process; the failure still reaches the caller through its next query. An
 * idle connection that PostgreSQL ended is reported on the pool, which drops it: the pool listener only keeps
 * that from being an uncaught error too.
 */
function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.timeoutMs,
    idleTimeoutMillis: 30_000,
    ...(options.poolMode === 'transaction' ? {} : sessionTimeouts(statementTimeoutOf(options))),
    // The client's own bound, a little after the server's: it also covers a server (or pooler) that stopped
    // answering, and single statements behind a transaction pooler. pg-pool destroys a connection that timed out.
    query_timeout: statementTimeoutOf(options) + options.timeoutMs,
    application_name: options.applicationName ?? 'order-service',
    types: { getTypeParser: typeParser },
  });
  pool.on('connect', (client) => client.on('error', () => undefined));
  pool.on('error', () => undefined);
  return pool;
}

/** pg's query_timeout fired: the statement may still run on the server, so the connection is not reused. */
function isClientTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

/** Statement time is bounded well above the dependency timeout: a slow but healthy query must not fail. */
function statementTimeoutOf(options: DatabaseOptions): number {
  return Math.max(options.timeoutMs * 5, 10_000);
}

/** Sent as startup parameters, so every statement of the connection is bounded without a round trip. */
function sessionTimeouts(ms: number) {
  return {
    statement_timeout: ms,
    // A transaction left open by a client that hangs is ended by the server (and its locks released).
    idle_in_transaction_session_timeout: ms,
  };
}

/**
 * Settings for one transaction, as the code that runs it knows it needs them (the relay's planner settings): names
 * and values are constants of this codebase, never input, and are checked as such (plain lower-case words), since
 * they become SQL text.
 */
export type LocalSettings = Readonly<Record<string, string>>;

/** A transaction's settings as the SET LOCAL statements that open it with its BEGIN. */
export function setLocal(settings: LocalSettings): string[] {
  return Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_]+$/.test(name) || !/^[a-z_]+$/.test(value)) throw new Error(`not a setting this service sets: ${name} = ${String(value)}`);
    return `SET LOCAL ${name} = ${value}`;
  });
}

/** The same bounds for one transaction only, opened with it (no round trip of their own). */
function openingWithTimeouts(ms: number): string[] {
  const bound = Math.trunc(ms);
  return ['BEGIN', `SET LOCAL statement_timeout = ${bound}`, `SET LOCAL idle_in_transaction_session_timeout = ${bound}`];
}

/**
 * Column types as the service reads them: BIGINT (serial numbers, cents, outbox ids) as a JS number, which is
 * exact below 2^53 (the largest order total is 10^14 cents); a value beyond that is an error, never a rounding.
 */
function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === pg.types.builtins.INT8) return parseSafeInteger;
  return pg.types.getTypeParser(oid, format as 'text');
}

function parseSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} does not fit a JS number exactly`);
  return value;
}
