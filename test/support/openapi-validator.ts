import { DocumentSchemas } from './document-schemas.js';

/** One answer as a test received it. */
export interface HttpExchange {
  method: string;
  /** The request's URL, absolute or from the path on. */
  url: string;
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as text ('' when there was none). */
  text: string;
}

interface MediaType {
  schema?: unknown;
}
interface Header {
  required?: boolean;
  schema?: unknown;
}
interface ResponseObject {
  $ref?: string;
  headers?: Record<string, Header & { $ref?: string }>;
  content?: Record<string, MediaType>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: { schemas?: Record<string, unknown>; responses?: Record<string, ResponseObject>; headers?: Record<string, Header> };
}

interface Template {
  path: string;
  pattern: RegExp;
  literals: number;
}

/**
 * Holds answers to the OpenAPI document: the operation's declared response for the status, its media type and
 * body schema, its required headers (a HEAD answer: the path's GET operation, without the body). A request that matches no documented operation (an unknown route) must
 * get an error answer in the Error shape, as every error of the API is.
 */
export class OpenApiValidator {
  private readonly schemas: DocumentSchemas;
  private readonly templates: Template[];

  constructor(private readonly document: OpenApiDocument) {
    this.schemas = new DocumentSchemas(document.components.schemas ?? {});
    this.templates = Object.keys(document.paths).map((path) => ({
      path,
      // As Express routes: any case, with or without a trailing slash; a parameter is one segment.
      pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i'),
      literals: path.split('/').filter((segment) => segment !== '' && !segment.startsWith('{')).length,
    }));
  }

  /** What is wrong with the answer, as sentences naming the request; [] when the document declares it. */
  problems(exchange: HttpExchange): string[] {
    const where = `${exchange.method.toUpperCase()} ${exchange.url} answered ${exchange.status}`;
    return this.check(exchange).map((problem) => `${where}: ${problem}`);
  }

  private check(exchange: HttpExchange): string[] {
    const pathname = sentPathname(exchange.url);
    const template = this.templates.filter((candidate) => candidate.pattern.test(pathname)).sort((a, b) => b.literals - a.literals)[0];
    const found = template && operationOf(this.document.paths[template.path]!, exchange.method);
    if (!found) return this.checkUnrouted(exchange);
    const { method, operation } = found;
    const declared = operation.responses[String(exchange.status)] ?? operation.responses.default;
    if (!declared) return [`the document declares only ${Object.keys(operation.responses).join(', ')} for ${method.toUpperCase()} ${template.path}`];
    return this.checkResponse(exchange, this.resolve<ResponseObject>(declared));
  }

  /** Not a route of the document: an error in the Error shape (404 for an unknown route, or whatever came first). */
  private checkUnrouted(exchange: HttpExchange): string[] {
    if (exchange.status < 400) return ['no documented operation matches, yet it succeeded'];
    return this.checkResponse(exchange, { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  }

  /** Headers and body; a HEAD answer has the GET answer's headers and no body, so only its media type is checked. */
  private checkResponse(exchange: HttpExchange, response: ResponseObject): string[] {
    const headers = this.checkHeaders(exchange, response);
    if (exchange.method.toUpperCase() !== 'HEAD') return [...headers, ...this.checkBody(exchange, response)];
    return [...headers, ...this.checkHeadMediaType(exchange, response), ...(exchange.text === '' ? [] : ['a HEAD answer has a body'])];
  }

  private checkHeadMediaType(exchange: HttpExchange, response: ResponseObject): string[] {
    const contentType = mediaTypeOf(exchange);
    if (!response.content || contentType === '' || response.content[contentType]) return [];
    return [`Content-Type ${contentType} is not one the document declares (${Object.keys(response.content).join(', ')})`];
  }

  private checkHeaders(exchange: HttpExchange, response: ResponseObject): string[] {
    const problems: string[] = [];
    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const header = this.resolve<Header>(declared);
      const value = exchange.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`header ${name} is required and missing`);
        continue;
      }
      const text = Array.isArray(value) ? value.join(', ') : value;
      const typed = (header.schema as { type?: string } | undefined)?.type === 'integer' && /^-?\d+$/.test(text) ? Number(text) : text;
      problems.push(...this.schemas.problems(header.schema ?? {}, typed).map((problem) => `header ${name}: ${problem}`));
    }
    return problems;
  }

  private checkBody(exchange: HttpExchange, response: ResponseObject): string[] {
    const contentType = mediaTypeOf(exchange);
    if (!response.content) return exchange.text === '' ? [] : [`the document declares no body, yet it has one (${contentType}: ${exchange.text.slice(0, 200)})`];
    const media = response.content[contentType];
    if (!media) return [`Content-Type ${contentType || '(none)'} is not one the document declares (${Object.keys(response.content).join(', ')})`];
    if (!contentType.endsWith('json')) return this.schemas.problems(media.schema ?? {}, exchange.text).map((problem) => `body ${problem}`);
    let body: unknown;
    try {
      body = JSON.parse(exchange.text);
    } catch {
      return [`the body is not JSON: ${exchange.text.slice(0, 200)}`];
    }
    return this.schemas.problems(media.schema ?? {}, body).map((problem) => `body ${problem}`);
  }

  /** A response or header, following its $ref into components. */
  private resolve<T>(item: T & { $ref?: string }): T {
    if (!item.$ref) return item;
    const [, , kind, name] = item.$ref.split('/');
    const target = (this.document.components as Record<string, Record<string, unknown> | undefined>)[kind!]?.[name!];
    if (!target) throw new Error(`the document's ${item.$ref} does not resolve`);
    return target as T;
  }
}

/**
 * The path as the request sent it, dot segments kept: Express routes `/products/.` as the product named ".", where
 * `new URL()` would resolve it to `/products/` (the list) and check the answer against the wrong operation.
 */
function sentPathname(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0] || '/';
}

type PathItem = OpenApiDocument['paths'][string];

/**
 * The operation that answers the request, with its method. Express answers HEAD with the GET route of the path
 * (on every GET route), and the document declares no HEAD operations: a HEAD answer is held to the path's GET.
 */
function operationOf(pathItem: PathItem, requestMethod: string): { method: string; operation: PathItem[string] } | undefined {
  const method = requestMethod.toLowerCase();
  if (pathItem[method]) return { method, operation: pathItem[method] };
  if (method === 'head' && pathItem.get) return { method: 'get', operation: pathItem.get };
  return undefined;
}

function mediaTypeOf(exchange: HttpExchange): string {
  return String(exchange.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
