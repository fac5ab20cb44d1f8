import pg from 'pg';

/** What of pg's connection a query that writes its own protocol messages uses (pg's Connection, untyped there). */
interface ProtocolConnection {
  parse(message: { text: string }): void;
  bind(message: Record<string, never>): void;
  execute(message: Record<string, never>): void;
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
  stream: { cork?(): void; uncork?(): void };
}

/** The parts of pg's Query (lib/query.js) this class builds on, which @types/pg leaves out. */
interface PgQuery {
  name?: string;
  text: string;
  values?: unknown[];
  submit(connection: pg.Connection): Error | null;
  handleCommandComplete(message: unknown, connection: ProtocolConnection): void;
  handleError(error: Error, connection: ProtocolConnection): void;
}
type QueryCallback = (error: Error | null, result: pg.QueryResult) => void;
const PgQuery = pg.Query as unknown as new (config: { name?: string; text: string; values: unknown[]; queryMode: 'extended'; callback: QueryCallback }) => PgQuery;

export interface StatementConfig {
  name?: string;
  text: string;
  values: unknown[];
}

/**
 * A transaction's first statement, sent in one round trip with the statements that open the transaction (BEGIN and
 * its SET LOCALs): each opening statement as Parse, Bind, Execute of the extended protocol, then the statement as
 * pg sends any, and ONE Sync for all. Sent on their own, BEGIN and the statement are two round trips.
 *
 * One Sync is what makes it safe: PostgreSQL skips every message after an error until the Sync, so if the opening
 * fails the statement never runs, and above all never runs outside a transaction (with a Sync per statement, as
 * pg's pipeline mode sends them, it would run and commit on its own). A BEGIN that ran stays open past the Sync,
 * as a BEGIN sent alone does: the unit commits or rolls back as usual.
 *
 * The opening statements are commands that return no rows (BEGIN, SET LOCAL): they are answered with CommandComplete
 * only (no Describe is sent for them) and are not part of the result. pg records a named statement as prepared on
 * any ParseComplete while its query is active, and the opening statements' Parses come first: the name is shown to
 * pg only once they all completed, so that a failed opening cannot leave the statement recorded as prepared when its
 * own Parse never ran.
 */
export class OpeningQuery extends PgQuery {
  private openingLeft: number;
  private readonly statementName: string | undefined;

  constructor(
    private readonly opening: readonly string[],
    statement: StatementConfig,
    callback: QueryCallback,
  ) {
    super({ ...statement, queryMode: 'extended', callback });
    this.openingLeft = opening.length;
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
      for (const text of this.opening) {
        connection.parse({ text });
        connection.bind({});
        connection.execute({});
      }
      // Parse (unless already prepared on this connection), Bind, Describe, Execute, Sync.
      super.submit(pgConnection);
    } finally {
      connection.stream.uncork?.();
    }
    if (this.openingLeft > 0) this.name = undefined;
    return null;
  }

  override handleCommandComplete(message: unknown, connection: ProtocolConnection): void {
    if (this.openingLeft === 0) return super.handleCommandComplete(message, connection);
    this.openingLeft--;
    if (this.openingLeft === 0) this.name = this.statementName;
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
