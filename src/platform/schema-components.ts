import { z } from 'zod';

export type JsonSchema = { [key: string]: unknown };

const COMPONENT_REF = '#/components/schemas/';

/**
 * The JSON Schemas of zod schemas, for an OpenAPI 3.1 document (JSON Schema 2020-12) or an AsyncAPI 3.0 one
 * (its Schema Object is a superset of draft-07). A zod schema with a meta `id` (Order, Product, Error, ...)
 * becomes one entry of `components.schemas`, referred to as `#/components/schemas/<id>`: zod itself puts it in a
 * `$defs` (`definitions`) beside each schema that uses it and refers to `#/$defs/<id>`, which resolves in no API
 * document (a tool reads such a ref from the document's root).
 */
export class SchemaComponents {
  private readonly schemas = new Map<string, JsonSchema>();

  constructor(private readonly target: 'draft-2020-12' | 'draft-07' = 'draft-2020-12') {}

  /**
   * What `schema` accepts ('input': request bodies, parameters, the JSON a consumer parses) or gives ('output':
   * response bodies). Unrepresentable parts (a transform's output) throw, so nothing is silently documented as `{}`.
   */
  of(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, { io, target: this.target, unrepresentable: 'throw' }) as JsonSchema;
    const { $schema: _dialect, $defs, definitions, ...root } = json;
    for (const [id, definition] of Object.entries(($defs ?? definitions ?? {}) as Record<string, JsonSchema>)) this.add(id, definition);
    return withComponentRefs(root) as JsonSchema;
  }

  /** A reference to the named component, which must have been added by `of` (the document would not resolve). */
  ref(id: string): JsonSchema {
    if (!this.schemas.has(id)) throw new Error(`no schema component ${id}`);
    return { $ref: `${COMPONENT_REF}${id}` };
  }

  /** Every component, by name. */
  all(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.schemas.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** The same name twice must be the same shape (say, a schema whose input and output differ would not be). */
  private add(id: string, definition: JsonSchema): void {
    const schema = withComponentRefs(definition) as JsonSchema;
    const known = this.schemas.get(id);
    if (known && JSON.stringify(known) !== JSON.stringify(schema)) {
      throw new Error(`two different shapes are named ${id}: ${JSON.stringify(known)} and ${JSON.stringify(schema)}`);
    }
    this.schemas.set(id, schema);
  }
}

function withComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withComponentRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string' ? item.replace(/^#\/(\$defs|definitions)\//, COMPONENT_REF) : withComponentRefs(item),
    ]),
  );
}
