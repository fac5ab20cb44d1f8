import { createHash } from 'node:crypto';

/**
 * SQL as data: a tagged template that keeps the text and the values apart, so no value is ever written into SQL
 * text. `${value}` becomes a `$n` parameter; `${sql`...`}` (a fragment) is inlined with its own parameters
 * renumbered, which is how statements are composed (a CTE part, an optional WHERE). There is no way to splice raw
 * text: names of tables and columns are written in the template itself, and `sql.constant` writes only a
 * codebase constant of a checked shape (a status word, a batch size).
 *
 *   const byId = sql<{ name: string }>`SELECT name FROM products WHERE id = ${id}::uuid`;
 *   // byId.text === 'SELECT name FROM products WHERE id = $1::uuid', byId.values === [id]
 *
 * `Row` is the type of one result row, for the compiler only; a statement says what it returns where it is written.
 */
export class Sql<Row = unknown> {
  /** Never set; carries the row type. */
  declare readonly __row?: Row;

  private constructor(
    /** The text between values, one more than values. */
    private readonly strings: readonly string[],
    private readonly parts: readonly unknown[],
    /**
     * A prepared statement's name (see `prepared`), or its prefix when the name ends in a digest of the text (see
     * `preparedPerText`); ignored where the statement is inlined into another.
     */
    private readonly name?: string,
    private readonly nameFromText = false,
  ) {}

  /** A fragment that adds nothing, for a part that is not there (`${condition ? sql`...` : sql.empty}`). */
  static readonly empty: Sql = new Sql([''], []);

  static template<Row>(strings: readonly string[], values: unknown[]): Sql<Row> {
    return new Sql<Row>([...strings], values);
  }

  /** Fragments one after another, `separator` between them (`sql.join(parts, sql`, `)`). */
  static join(fragments: readonly Sql[], separator: Sql): Sql {
    const parts = fragments.flatMap((fragment, index) => (index === 0 ? [fragment] : [separator, fragment]));
    return new Sql(Array<string>(parts.length + 1).fill(''), parts);
  }

  /**
   * A constant of this codebase in the text itself, not a parameter: a status that a partial index names in its
   * predicate (a plan made without the value, a prepared statement's generic plan, cannot use such an index when
   * the status is a `$n`), a batch size. Only a word (letters, digits, underscores; quoted as a string literal) or
   * a non-negative safe integer (no minus sign that could meet another and open a comment) is accepted, so the text
   * can hold nothing else; anything from outside is a value, never this.
   */
  static constant(value: string | number): Sql {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return new Sql([String(value)], []);
    if (typeof value === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(value)) return new Sql([`'${value}'`], []);
    throw new TypeError(`sql.constant: ${JSON.stringify(value)} is not a word or a non-negative safe integer`);
  }

  /**
   * The same statement, to be prepared once per connection under `name` and executed by name after that: no parse
   * and, with a generic plan, no planning per execution. Only for a statement whose text never changes under that
   * name (its variable parts are all values); pg refuses a name reused for another text on the same connection.
   */
  prepared(name: string): Sql<Row> {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new TypeError(`sql.prepared: ${JSON.stringify(name)} is not a statement name`);
    return new Sql<Row>(this.strings, this.parts, name);
  }

  /**
   * The same statement, prepared under `prefix` and a digest of its text: for a statement whose text takes one of a
   * few shapes (an optional part, a part per case), each shape prepared once per connection under a name of its own.
   * Never for a text that grows with the input (a part per element of a list): each length would stay prepared.
   */
  preparedPerText(prefix: string): Sql<Row> {
    return new Sql<Row>(this.strings, this.parts, this.prepared(prefix).name, true);
  }

  /** The name given by `prepared`, if any (a statement built around this one may be prepared under a name of its own). */
  get preparedName(): string | undefined {
    return this.nameFromText ? undefined : this.name;
  }

  /**
   * `text` with `$1..$n` and the values in that order, as pg's extended protocol takes them; with the statement's
   * name when it has one and `named` allows it (not behind a transaction pooler, where the next transaction may
   * run on a server connection that never saw it prepared).
   */
  toQuery(named = false): { name?: string; text: string; values: unknown[] } {
    const values: unknown[] = [];
    const text = this.render(values);
    if (!named || this.name === undefined) return { text, values };
    return { name: this.nameFromText ? `${this.name}-${createHash('sha1').update(text).digest('hex').slice(0, 16)}` : this.name, text, values };
  }

  private render(values: unknown[]): string {
    let text = this.strings[0]!;
    this.parts.forEach((part, index) => {
      if (part instanceof Sql) {
        text += part.render(values);
      } else {
        values.push(part);
        text += `$${values.length}`;
      }
      text += this.strings[index + 1]!;
    });
    return text;
  }
}

/** The tag: sql`...` or sql<Row>`...`. */
export function sql<Row = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Sql<Row> {
  return Sql.template<Row>(strings, values);
}

sql.join = Sql.join;
sql.empty = Sql.empty;
sql.constant = Sql.constant;
