import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with its function as module.exports.default.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const COMPONENTS = 'urn:order-service:components';

/**
 * The JSON Schemas of one API document (OpenAPI 3.1 or AsyncAPI 3.0, both JSON Schema 2020-12), compiled with
 * ajv: a schema's `#/components/schemas/<Name>` refs resolve to the document's own components. Strict, with the
 * uuid and date-time formats, so that a schema ajv cannot read fails loudly instead of accepting everything.
 */
export class DocumentSchemas {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(components: Record<string, unknown>) {
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: COMPONENTS, $defs: withRefsTo('#/$defs/', components) });
  }

  /** The problems of `value` against `schema` (a schema of the document, refs and all); [] when it conforms. */
  problems(schema: unknown, value: unknown): string[] {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(withRefsTo(`${COMPONENTS}#/$defs/`, schema) as object);
      this.compiled.set(key, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map(describe);
  }
}

function describe(error: ErrorObject): string {
  return `${error.instancePath || '(root)'} ${error.message ?? error.keyword}${error.params && 'allowedValues' in error.params ? ` ${JSON.stringify(error.params.allowedValues)}` : ''}`;
}

/** The schema with its `#/components/schemas/<Name>` refs pointing under `prefix` instead. */
function withRefsTo(prefix: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => withRefsTo(prefix, item));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string' && item.startsWith('#/components/schemas/') ? `${prefix}${item.slice('#/components/schemas/'.length)}` : withRefsTo(prefix, item),
    ]),
  );
}
