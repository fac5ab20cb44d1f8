import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { checkedHttp, parseRawAnswer } from '../support/http-validation.js';
import { OpenApiValidator, type HttpExchange } from '../support/openapi-validator.js';

// The check every answer of the suite goes through (test/support/http-validation.ts) must catch an answer that
// /openapi.json does not declare, or it would prove nothing when the rest of the suite passes.

let t: TestService;
let document: object;
let validator: OpenApiValidator;
beforeAll(async () => {
  t = await startTestService();
  document = (await t.http.get('/openapi.json')).body;
  validator = new OpenApiValidator(document as ConstructorParameters<typeof OpenApiValidator>[0]);
});
afterAll(() => t.close());

const product = { id: '3f2c6a7e-0b1d-4c6e-9a51-2f0e8d4b7c11', name: 'Phone', price: 100, discount: 10, quantity: 1, description: 'a phone', availability: true, created_at: '2026-11-21T05:30:00.000Z' };
const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r-1' };
const answer = (over: Partial<HttpExchange>): HttpExchange => ({ method: 'GET', url: '/api/v1/products/Phone', status: 200, headers: json, text: JSON.stringify(product), ...over });

describe('checking answers against /openapi.json', () => {
  it('when an answer is what the document declares, then there is no problem, with or without a trailing slash', () => {
    expect(validator.problems(answer({}))).toEqual([]);
    expect(validator.problems(answer({ url: 'http://127.0.0.1:1/api/v1/products/Phone/?x=1' }))).toEqual([]);
    expect(validator.problems(answer({ status: 404, text: '{"message":"product not found","data":"Phone"}' }))).toEqual([]);
  });

  it('when a body lacks a field, has one more, or spells an id in upper case, then each is a problem', () => {
    const { id: _id, ...withoutId } = product;
    expect(validator.problems(answer({ text: JSON.stringify(withoutId) })).join()).toMatch(/must have required property 'id'/);
    expect(validator.problems(answer({ text: JSON.stringify({ ...product, extra: 1 }) })).join()).toMatch(/must NOT have additional properties/);
    expect(validator.problems(answer({ text: JSON.stringify({ ...product, id: product.id.toUpperCase() }) })).join()).toMatch(/\/id must match pattern/);
  });

  it('when the status, the media type or a required header is not the declared one, then it is a problem', () => {
    expect(validator.problems(answer({ status: 418 })).join()).toMatch(/declares only 200, 400, 401, 404, 408, 413, 429, 500, 503/);
    expect(validator.problems(answer({ headers: { ...json, 'content-type': 'text/html' } })).join()).toMatch(/Content-Type text\/html is not one/);
    expect(validator.problems(answer({ status: 401, text: '{"message":"no","data":""}' })).join()).toMatch(/header WWW-Authenticate is required and missing/);
    expect(validator.problems(answer({ method: 'POST', url: '/api/v1/products', status: 204, text: '{}' })).join()).toMatch(/declares no body, yet it has one/);
  });

  it('when a request matches no documented operation, then only an error in the Error shape may answer it', () => {
    expect(validator.problems(answer({ url: '/api/v1/nothing', status: 404, text: '{"message":"route not found","data":"GET /api/v1/nothing"}' }))).toEqual([]);
    expect(validator.problems(answer({ url: '/api/v1/nothing', status: 200 })).join()).toMatch(/no documented operation matches/);
    expect(validator.problems(answer({ url: '/api/v1/nothing', status: 404, text: '{"error":"x"}' })).join()).toMatch(/required property 'message'/);
  });

  it('when a HEAD is answered as the GET of its path would be, without the body, then there is no problem', () => {
    const head = (over: Partial<HttpExchange>) => validator.problems(answer({ method: 'HEAD', text: '', ...over }));
    expect(head({})).toEqual([]);
    expect(head({ status: 404 })).toEqual([]);
    expect(head({ url: '/api/v1/addresses', status: 404 })).toEqual([]);
  });

  it('when a HEAD answer has a status, header or media type its GET does not declare, or a path with no GET answers it, then it is a problem', () => {
    const head = (over: Partial<HttpExchange>) => validator.problems(answer({ method: 'HEAD', text: '', ...over })).join();
    expect(head({ status: 418 })).toMatch(/declares only 200, .* for GET \/api\/v1\/products\/\{productName\}/);
    expect(head({ headers: { 'content-type': 'application/json' } })).toMatch(/header X-Request-Id is required and missing/);
    expect(head({ headers: { ...json, 'content-type': 'text/html' } })).toMatch(/Content-Type text\/html is not one/);
    expect(head({ text: JSON.stringify(product) })).toMatch(/a HEAD answer has a body/);
    expect(head({ url: '/api/v1/addresses', status: 200 })).toMatch(/no documented operation matches, yet it succeeded/);
    expect(head({ url: '/api/v1/nothing', status: 200 })).toMatch(/no documented operation matches, yet it succeeded/);
  });

  it('when the service is asked HEAD, then its answers go through the same check and pass it', async () => {
    expect((await t.http.head('/healthcheck')).status).toBe(200);
    expect((await t.http.head('/api/v1/products/no-such-product')).status).toBe(404);
    expect((await t.http.head('/api/v1/addresses')).status).toBe(404);
  });

  it('when a service answers HEAD on a path the document has no GET for, then the request through the test client fails', async () => {
    const wrong = express();
    wrong.get('/openapi.json', (_req, res) => void res.json(document));
    wrong.head('/api/v1/addresses', (_req, res) => void res.set('x-request-id', 'r-1').status(200).end());
    await expect(checkedHttp(wrong).head('/api/v1/addresses').then((res) => res.status)).rejects.toThrow(/HEAD .*\/api\/v1\/addresses answered 200: no documented operation matches/);
  });

  it('when an answer is read from a raw socket, then it is checked as any other: Node\'s own 408 passes, a 408 with a body or an undeclared status does not', () => {
    const raw = (text: string) => validator.problems({ method: 'POST', url: '/api/v1/products', ...parseRawAnswer(text) }).join();
    expect(raw('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n')).toBe('');
    expect(raw('HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n\r\nslow')).toMatch(/declares no body, yet it has one/);
    expect(raw('HTTP/1.1 418 I\'m a Teapot\r\nConnection: close\r\n\r\n')).toMatch(/declares only 204, 400, /);
    expect(() => parseRawAnswer('')).toThrow(/not an HTTP\/1.1 answer/);
  });

  it('when a service answers what its document does not declare, then the request through the test client fails', async () => {
    const wrong = express();
    wrong.get('/openapi.json', (_req, res) => void res.json(document));
    wrong.get('/api/v1/products', (_req, res) => void res.json({ products: 'none' }));
    await expect(checkedHttp(wrong).get('/api/v1/products').then((res) => res.status)).rejects.toThrow(
      /an answer the OpenAPI document does not declare:\n[^]*GET .*\/api\/v1\/products answered 200: body \/products must be array/,
    );
  });
});
