/**
 * SQL as data: a tagged template that keeps the text and the values apart, so no value is ever written into SQL
 * text. `${value}` becomes a `$n` parameter; `${sql`...`}` (a fragment) is inlined with its own parameters
 * renumbered, which is how statements are composed (a CTE part, an optional WHERE). There is no way to splice raw
 * text: names of tables and columns are written in the template itself.
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

  /** `text` with `$1..$n` and the values in that order, as pg's extended protocol takes them. */
  toQuery(): { text: string; values: unknown[] } {
    const values: unknown[] = [];
    const text = this.render(values);
    return { text, values };
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
