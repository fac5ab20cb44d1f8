import supertest, { type Response, type Test } from 'supertest';
import { OpenApiValidator, type HttpExchange } from './openapi-validator.js';

// The one place where the suite's HTTP answers meet /openapi.json: every client a test gets from here (the
// supertest agent of test/support/service.ts, a fetch for a listening server, an answer read from a raw socket)
// checks each answer against the document the same service serves, and fails with the problems when the document
// does not declare it; the fault suite's own HTTP client (test/faults/support/answer-checks.ts) takes the problems
// from answerChecker and fails its step on them.

type App = Parameters<typeof supertest>[0];
type Client = ReturnType<typeof supertest>;

const REQUEST_METHODS = new Set(['get', 'post', 'put', 'delete', 'del', 'patch', 'head', 'options']);
const validators = new Map<string, OpenApiValidator>();

/** A validator of the document's text, compiled once per distinct document. */
function validatorOf(documentText: string): OpenApiValidator {
  let validator = validators.get(documentText);
  if (!validator) {
    validator = new OpenApiValidator(JSON.parse(documentText));
    validators.set(documentText, validator);
  }
  return validator;
}

function assertDeclared(validator: OpenApiValidator, exchange: HttpExchange): void {
  failOnUndeclared(validator.problems(exchange));
}

function failOnUndeclared(problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`an answer the OpenAPI document does not declare:\n  ${problems.join('\n  ')}`);
}

/** supertest for `app` (an Express app or a listening server), every answer checked against its /openapi.json. */
export function checkedHttp(app: App): Client {
  return checkedClient(supertest(app), documentServedBy(app));
}

/** The same checks on a client with defaults (supertest.agent(app).set(...)), against the document `app` serves. */
export function checkedAgent<T extends object>(agent: T, app: App): T {
  return checkedClient(agent, documentServedBy(app));
}

/** The validator of the document `app` serves, fetched once, when the first answer needs it. */
function documentServedBy(app: App): () => Promise<OpenApiValidator> {
  let validator: Promise<OpenApiValidator> | undefined;
  return () => (validator ??= Promise.resolve(supertest(app).get('/openapi.json')).then((res) => validatorOf(res.text)));
}

/**
 * A proxy of a supertest client whose requests check their answer when awaited (a supertest Test is a thenable;
 * `.catch` goes through `then` too). Chained calls on the client itself (agent.set) keep the proxy.
 */
function checkedClient<T extends object>(client: T, validator: () => Promise<OpenApiValidator>): T {
  const proxy: T = new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (result === target) return proxy;
        return REQUEST_METHODS.has(String(property)) ? checkedTest(result as Test, validator) : result;
      };
    },
  });
  return proxy;
}

function checkedTest(test: Test, validator: () => Promise<OpenApiValidator>): Test {
  const then = test.then.bind(test);
  test.then = ((onFulfilled, onRejected) =>
    then(async (res: Response) => {
      const exchange = { method: test.method, url: test.url, status: res.status, headers: res.headers, text: res.text ?? '' };
      assertDeclared(await validator(), exchange);
      return res;
    }).then(onFulfilled, onRejected)) as Test['then'];
  return test;
}

/** fetch for a listening service at `origin` (http://127.0.0.1:port), every answer checked against its /openapi.json. */
export function checkedFetch(origin: string): typeof fetch {
  const check = answerChecker(origin);
  return async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    const headers = Object.fromEntries([...response.headers.entries()].map(([name, value]) => [name.toLowerCase(), value]));
    const exchange = { method: request.method, url: request.url, status: response.status, headers, text: await response.clone().text() };
    failOnUndeclared(await check(exchange));
    return response;
  };
}

/**
 * The problems of an answer from the service at `origin` against the /openapi.json it serves ([] when declared),
 * for a client that records problems instead of throwing (the fault suite's, whose load must not die on one). The
 * document is fetched when the first answer needs it, and again after a fetch that failed (the service may be
 * restarting): a failure rejects, and the caller decides how long to wait for the service.
 */
export function answerChecker(origin: string): (exchange: HttpExchange) => Promise<string[]> {
  let validator: Promise<OpenApiValidator> | undefined;
  const load = () =>
    (validator ??= servedDocument(origin).catch((error: unknown) => {
      validator = undefined;
      throw error;
    }));
  return async (exchange) => (await load()).problems(exchange);
}

/**
 * The validator of the document `origin` serves. Fetched on a connection that closes after it, so that a test
 * counting the server's open connections finds none of this check's.
 */
async function servedDocument(origin: string): Promise<OpenApiValidator> {
  const res = await fetch(`${origin}/openapi.json`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${origin}/openapi.json answered ${res.status}`);
  return validatorOf(await res.text());
}

/**
 * The same check for an answer read from a raw socket (for a request no well-behaved client sends, such as a body
 * that never arrives), sent for `request` to the service at `origin`.
 */
export async function assertRawAnswerDeclared(origin: string, request: { method: string; url: string }, raw: string): Promise<void> {
  assertDeclared(await servedDocument(origin), { ...request, ...parseRawAnswer(raw) });
}

/** Status, headers (names in lower case) and body of an HTTP/1.1 answer as the socket received it. */
export function parseRawAnswer(raw: string): Pick<HttpExchange, 'status' | 'headers' | 'text'> {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = raw.slice(0, end === -1 ? raw.length : end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine)?.[1];
  if (end === -1 || !status) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(raw.slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not an HTTP header line: ${JSON.stringify(line)}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  // Decoding chunks is a client's work: a test that meets one reads it with checkedFetch instead.
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) throw new Error('a chunked answer: read it with checkedFetch');
  return { status: Number(status), headers, text: raw.slice(end + 4) };
}
