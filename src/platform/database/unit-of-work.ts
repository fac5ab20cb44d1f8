import type pg from 'pg';
import type { Sql } from './sql.js';
import { FramedQuery, type Frame } from './framed-query.js';

/**
 * The one way a piece of work talks to PostgreSQL: the statements of one command, one relay cycle, one job run.
 * Its writes commit together or not at all, in one of two ways (UnitOfWorkKind):
 *
 * - `transaction`: BEGIN ... COMMIT on one connection. BEGIN goes out with the first statement, in its round trip
 *   (FramedQuery; a unit that ran none sends nothing), and COMMIT with the last when the work says which one that
 *   is (writeAndCommit); else on its own once the work is done.
 * - `statement`: no transaction. The work may read, then makes all its writes in ONE statement, which PostgreSQL
 *   applies whole or not at all. A second write is refused (SingleStatementViolation) rather than silently made
 *   outside any transaction: a command that needs two writes must say `transaction`.
 */
/** What can run a read: a unit of work (to see its own writes), or the Database outside any unit. */
export interface Reader {
  read<Row>(statement: Sql<Row>): Promise<Row[]>;
}

export interface UnitOfWork extends Reader {
  readonly kind: UnitOfWorkKind;
  write<Row>(statement: Sql<Row>): Promise<Row[]>;
  /**
   * The unit's last statement, which commits it: in a transaction, COMMIT goes out with it in its round trip (one
   * fewer than writing, then committing), and its rows come back once the unit's writes are committed. Nothing runs
   * in the unit after it (an error says so); the work then only registers afterCommit callbacks and returns.
   */
  writeAndCommit<Row>(statement: Sql<Row>): Promise<Row[]>;
  /** Runs once the unit's writes have committed (never if they roll back), e.g. to wake the relay. */
  afterCommit(callback: () => void): void;
}

export type UnitOfWorkKind = 'transaction' | 'statement';

/** A `statement` unit asked for a second write. A bug in the command, never a client's fault. */
export class SingleStatementViolation extends Error {}

/** A statement after the unit's writeAndCommit. A bug in the command, never a client's fault. */
export class StatementAfterCommit extends Error {}

/** What a statement of a transaction closes, if anything: shared, as every statement passes one. */
const UNFRAMED: Frame = {};
const COMMITTING: Frame = { closing: ['COMMIT'] };

/** Something that runs one statement: a pooled connection, or the pool itself. */
export interface Runner {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<pg.QueryResult>;
  query(text: string): Promise<pg.QueryResult>;
}

/** A pooled connection, which also takes a query that writes its own protocol messages. */
export type ConnectionRunner = Runner & { query<T extends pg.Submittable>(submittable: T): T };

/**
 * On one connection: the transaction opened with the first statement, in its round trip, and committed with the
 * last when the work sends it with writeAndCommit; else the runner commits. The runner rolls back on an error.
 * `opening` is the statements that open the transaction (BEGIN, then SET LOCALs: behind a transaction
 * pooler the transaction's timeouts, and the unit's planner settings). `named`: a prepared statement
 * (Sql.prepared) goes by its name (not behind a transaction pooler).
 */
export class TransactionUnit implements UnitOfWork {
  readonly kind = 'transaction';
  readonly callbacks: (() => void)[] = [];
  private begun = false;
  /** Whether writeAndCommit was sent: the unit runs nothing after it. */
  private closed = false;
  private commitDone = false;

  constructor(
    private readonly connection: ConnectionRunner,
    private readonly opening: readonly string[] = ['BEGIN'],
    private readonly named = false,
  ) {}

  read<Row>(statement: Sql<Row>): Promise<Row[]> {
    return this.run(statement, UNFRAMED);
  }

  write<Row>(statement: Sql<Row>): Promise<Row[]> {
    return this.run(statement, UNFRAMED);
  }

  async writeAndCommit<Row>(statement: Sql<Row>): Promise<Row[]> {
    const rows = await this.run(statement, COMMITTING);
    this.commitDone = true;
    return rows;
  }

  afterCommit(callback: () => void): void {
    this.callbacks.push(callback);
  }

  /** Whether BEGIN was sent: a unit that ran no statement has nothing to commit or roll back. */
  get started(): boolean {
    return this.begun;
  }

  /** Whether writeAndCommit committed the unit: nothing is left to commit, nor to roll back. */
  get committed(): boolean {
    return this.commitDone;
  }

  private async run<Row>(statement: Sql<Row>, frame: Frame): Promise<Row[]> {
    if (this.closed) throw new StatementAfterCommit('a statement after writeAndCommit: the unit of work has ended');
    if (frame.closing) this.closed = true;
    const opening = this.begun ? undefined : this.opening;
    if (!opening && !frame.closing) return (await this.connection.query(statement.toQuery(this.named))).rows as Row[];
    this.begun = true;
    const result = await new Promise<pg.QueryResult>((resolve, reject) => {
      this.connection.query(new FramedQuery({ opening, ...frame }, statement.toQuery(this.named), (error, done) => (error ? reject(error) : resolve(done))));
    });
    return result.rows as Row[];
  }
}

/** Reads on any pooled connection, then at most one write. */
export class StatementUnit implements UnitOfWork {
  readonly kind = 'statement';
  readonly callbacks: (() => void)[] = [];
  private wrote = false;

  constructor(
    private readonly pool: Runner,
    private readonly named = false,
  ) {}

  async read<Row>(statement: Sql<Row>): Promise<Row[]> {
    return (await this.pool.query(statement.toQuery(this.named))).rows as Row[];
  }

  async write<Row>(statement: Sql<Row>): Promise<Row[]> {
    if (this.wrote) {
      throw new SingleStatementViolation('a single-statement unit of work makes one write; a command that needs two must use a transaction');
    }
    this.wrote = true;
    return (await this.pool.query(statement.toQuery(this.named))).rows as Row[];
  }

  /** A single statement commits as it runs: the same as write. */
  writeAndCommit<Row>(statement: Sql<Row>): Promise<Row[]> {
    return this.write(statement);
  }

  afterCommit(callback: () => void): void {
    this.callbacks.push(callback);
  }
}
