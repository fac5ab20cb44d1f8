import pg from 'pg';

/** What of pg's connection a query that writes its own protocol messages uses (pg's Connection, untyped there). */
interface ProtocolConnection {
  parse(message: { text: string }): void;
  bind(message: Record<string, never>): void;
  execute(message: { portal?: string; rows?: number }): void;
  sync(): void;
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
  stream: { cork?(): void; uncork?(): void };
}

/**
 * The parts of pg's Query (lib/query.js) this class builds on, which @types/pg leaves out. They are pg's internals,
 * so package.json pins pg to one exact version: an upgrade is a deliberate change, and
 * test/persistence/framed-query.test.ts checks the round trips and failures an upgrade must keep.
 */
interface PgQuery {
  name?: string;
  text: string;
  values?: unknown[];
  portal?: string;
  submit(connection: pg.Connection): Error | null;
  handleCommandComplete(message: unknown, connection: ProtocolConnection): void;
  handleError(error: Error, connection: ProtocolConnection): void;
  /** Writes the statement's Execute, then its Sync (unless it reads in pages of `rows`). */
  _getRows(connection: ProtocolConnection, rows: number | undefined): void;
}
type QueryCallback = (error: Error | null, result: pg.QueryResult) => void;
const PgQuery = pg.Query as unknown as new (config: { name?: string; text: string; values: unknown[]; queryMode: 'extended'; callback: QueryCallback }) => PgQuery;

export interface StatementConfig {
  name?: string;
  text: string;
  values: unknown[];
}

/**
 * What goes out with a statement in its round trip: the statements that open its transaction (BEGIN, SET LOCALs)
 * before it, the one that ends it (COMMIT) after it. Commands that return no rows and take no values.
 */
export interface Frame {
  opening?: readonly string[];
  closing?: readonly string[];
}

/**
 * A statement of a transaction sent in one round trip with the statements that open the transaction (BEGIN and its
 * SET LOCALs, when it is the first) or end it (COMMIT, when it is the last): each of those as Parse, Bind, Execute of
 * the extended protocol, the statement as pg sends any, and ONE Sync for all. Sent on their own, BEGIN, a statement
 * and COMMIT are three round trips; a transaction of two statements, framed, takes two.
 *
 * One Sync is what makes it safe: PostgreSQL skips every message after an error until the Sync. If the opening
 * fails, the statement never runs, and above all never runs outside a transaction (with a Sync per statement, as
 * pg's pipeline mode sends them, it would run and commit on its own); if the statement fails, COMMIT never runs and
 * the transaction stays open, failed, for the unit to roll back. A COMMIT that fails (a serialization failure found
 * at commit) fails the statement's query: its rows are not returned, as nothing they say was committed.
 *
 * The frame's statements return no rows: they are answered with CommandComplete only (no Describe is sent for them)
 * and are not part of the result. pg records a named statement as prepared on any ParseComplete while its query is
 * active, and the opening statements' Parses come first: the name is shown to pg only once they all completed, so
 * that a failed opening cannot leave the statement recorded as prepared when its own Parse never ran.
 */
export class FramedQuery extends PgQuery {
  private readonly opening: readonly string[];
  private readonly closing: readonly string[];
  /** Opening statements not yet complete; then the statement's own completion; then closing statements. */
  private openingLeft: number;
  private statementDone = false;
  private readonly statementName: string | undefined;

  constructor(frame: Frame, statement: StatementConfig, callback: QueryCallback) {
    super({ ...statement, queryMode: 'extended', callback });
    this.opening = frame.opening ?? [];
    this.closing = frame.closing ?? [];
    this.openingLeft = this.opening.length;
    this.statementName = statement.name;
  }

  /** pg calls this when the connection is free; an Error returned goes to the callback, and then nothing was sent. */
  override submit(pgConnection: pg.Connection): Error | null {
    const connection = pgConnection as unknown as ProtocolConnection;
    // pg's own submit refuses these before it writes anything; here they must be refused before the opening is.
    const refused = this.refusal(connection);
    if (refused) return refused;
    connection.stream.cork?.();
    try {
      for (const text of this.opening) writeCommand(connection, text);
      // Parse (unless already prepared on this connection), Bind, Describe, Execute, the closing (_getRows), Sync.
      super.submit(pgConnection);
    } finally {
      connection.stream.uncork?.();
    }
    if (this.openingLeft > 0) this.name = undefined;
    return null;
  }

  /** The statement's Execute, then the closing statements before the Sync that pg writes after it. */
  override _getRows(connection: ProtocolConnection, rows: number | undefined): void {
    if (this.closing.length === 0 || rows !== undefined) return super._getRows(connection, rows);
    connection.execute({ portal: this.portal, rows });
    for (const text of this.closing) writeCommand(connection, text);
    connection.sync();
  }

  override handleCommandComplete(message: unknown, connection: ProtocolConnection): void {
    if (this.openingLeft > 0) {
      this.openingLeft--;
      if (this.openingLeft === 0) this.name = this.statementName;
      return;
    }
    // The closing statements' completions come after the statement's, and are not part of its result.
    if (this.statementDone) return;
    this.statementDone = true;
    super.handleCommandComplete(message, connection);
  }

  override handleError(error: Error, connection: ProtocolConnection): void {
    // Failed before the statement's Parse ran: pg, not shown the name, cannot forget it was sent.
    if (this.openingLeft > 0 && this.statementName) delete connection.submittedNamedStatements[this.statementName];
    super.handleError(error, connection);
  }

  /** pg's checks (lib/query.js submit), made before anything is written. */
  private refusal(connection: ProtocolConnection): Error | null {
    if (!Array.isArray(this.values)) return new Error('Query values must be an array');
    if (!this.name) return null;
    const previous = connection.parsedStatements[this.name] ?? connection.submittedNamedStatements[this.name];
    if (previous !== undefined && previous !== this.text) return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`);
    return null;
  }
}

/** A command without values or rows, as the unnamed statement and portal. */
function writeCommand(connection: ProtocolConnection, text: string): void {
  connection.parse({ text });
  connection.bind({});
  connection.execute({});
}
