import supertest, { type Response, type Test } from 'supertest';
import { OpenApiValidator, type HttpExchange } from './openapi-validator.js';

// The one place where the suite's HTTP answers meet /openapi.json: every client a test gets from here (the
// supertest agent of test/support/service.ts, a fetch for a listening server) checks each answer against the
// document the same service serves, and fails the request with the problems when the document does not declare it.

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
  const problems = validator.problems(exchange);
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
  let validator: Promise<OpenApiValidator> | undefined;
  const load = () => (validator ??= fetch(`${origin}/openapi.json`).then(async (res) => validatorOf(await res.text())));
  return async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    const headers = Object.fromEntries([...response.headers.entries()].map(([name, value]) => [name.toLowerCase(), value]));
    const exchange = { method: request.method, url: request.url, status: response.status, headers, text: await response.clone().text() };
    assertDeclared(await load(), exchange);
    return response;
  };
}
