import { expect } from 'vitest';
import type { FuzzRequest } from './fuzz-requests.js';

/** What came back, as supertest reports it. */
export interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

const CONTRACT_STATUSES = [200, 204, 400, 404, 409, 413];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const PRODUCT_KEYS = ['availability', 'created_at', 'description', 'discount', 'id', 'name', 'price', 'quantity'];
const ORDER_KEYS = ['OrderID', 'address', 'client', 'createdAt', 'orderStatus', 'paymentMethod', 'products', 'sagaStatus', 'serialNumber', 'totalPrice'];
const LIST_KEYS = ['count', 'limit', 'offset', 'order', 'total'];
const cents = (amount: number) => Math.round(amount * 100);

/**
 * CONTRACT.md's promises about one answer, whatever was sent: never a 5xx, only the statuses the contract
 * names, errors exactly {message, data}, writes answer 204 with nothing, reads answer the documented JSON.
 * `decodedParam` is the last path parameter as the server decoded it (for reads by id or name).
 */
export function checkAnswer(request: FuzzRequest, answer: Answer, query: string, decodedParam: string | undefined): void {
  expect(answer.status, 'no 5xx for anything a client sends').toBeLessThan(500);
  checkRequestId(request, answer);
  if (request.credentials.kind !== 'valid' && !request.absolute) return checkRefused(answer);
  expect(CONTRACT_STATUSES, 'a status the contract names').toContain(answer.status);
  if (request.valid) expect(answer.status, 'a request that the contract allows is never a 400').not.toBe(400);
  if (answer.status >= 300) return checkError(answer);
  expect(request.route, 'only routes of the contract succeed').not.toBe('unknown routes');
  if (request.method !== 'get') {
    expect(answer.status, 'a successful write answers 204').toBe(204);
    expect(answer.text, '204 has an empty body').toBe('');
    return;
  }
  expect(answer.status, 'a successful read answers 200').toBe(200);
  expect(String(answer.headers['content-type'])).toMatch(/^application\/json/);
  const body: unknown = JSON.parse(answer.text);
  switch (request.route) {
    case 'GET /products':
      return checkList(body, 'products', query, checkProduct, (p) => cents(p.price as number));
    case 'GET /orders':
      return checkList(body, 'orders', query, (o) => checkOrder(o, ['Approved']), (o) => Date.parse(o.createdAt as string));
    case 'GET /orders/user/:userID':
      return checkList(body, 'orders', query, (o) => {
        checkOrder(o, ['Approved']);
        expect((o.client as { ClientID: string }).ClientID).toBe(decodedParam?.toLowerCase());
      }, (o) => Date.parse(o.createdAt as string));
    case 'GET /products/:productName':
      checkProduct(body as Record<string, unknown>);
      return expect((body as { name: string }).name).toBe(decodedParam);
    case 'GET /orders/:orderID':
      checkOrder(body as Record<string, unknown>, ['Pending', 'Approved']);
      return expect((body as { OrderID: string }).OrderID).toBe(decodedParam?.toLowerCase());
    default:
      throw new Error(`no 200 expected from ${request.route}`);
  }
}

/** Without a valid token, every API request is a 401 with a Bearer challenge, whatever else is wrong with it. */
function checkRefused(answer: Answer): void {
  expect(answer.status, 'an API request without a valid token').toBe(401);
  expect(String(answer.headers['www-authenticate'])).toMatch(/^Bearer realm="order-service"(, error="invalid_token", error_description="[^"]+")?$/);
  checkError(answer);
}

function checkError(answer: Answer): void {
  expect(String(answer.headers['content-type']), 'errors are JSON').toMatch(/^application\/json/);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  expect(body !== null && typeof body === 'object' && !Array.isArray(body), 'the error body is an object').toBe(true);
  expect(Object.keys(body).sort(), 'the error body is exactly {message, data}').toEqual(['data', 'message']);
  expect(typeof body.message).toBe('string');
  expect(typeof body.data).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
}

/** Every answer carries a correlation id: the client's when it is short and printable, a new one otherwise. */
function checkRequestId(request: FuzzRequest, answer: Answer): void {
  const echoed = answer.headers['x-request-id'];
  expect(echoed).toMatch(/^[\x21-\x7e]{1,128}$/);
  // HTTP drops spaces and tabs around a header value before the service sees it.
  const sent = request.headers.find(([name]) => name === 'X-Request-Id')?.[1].replace(/^[ \t]+|[ \t]+$/g, '');
  if (sent !== undefined && /^[\x21-\x7e]{1,128}$/.test(sent)) expect(echoed).toBe(sent);
}

function checkList(body: unknown, key: string, query: string, checkItem: (item: Record<string, unknown>) => void, sortKey: (item: Record<string, unknown>) => number): void {
  const page = body as Record<string, unknown>;
  expect(Object.keys(page).sort()).toEqual([...LIST_KEYS, key].sort());
  const items = page[key] as Record<string, unknown>[];
  expect(Array.isArray(items)).toBe(true);
  const { count, total, limit, offset, order } = page as { count: number; total: number; limit: number; offset: number; order: string };
  const asked = new URLSearchParams(query);
  const single = (name: string) => (asked.getAll(name).length === 1 ? asked.get(name)! : undefined);
  expect(limit).toBe(single('limit') === undefined ? 1000 : Number(single('limit')));
  expect(offset).toBe(single('offset') === undefined ? 0 : Number(single('offset')));
  expect(order).toBe(single('order')?.toLowerCase() ?? 'asc');
  expect(count).toBe(items.length);
  expect(count).toBe(Math.max(0, Math.min(limit, total - offset)));
  items.forEach(checkItem);
  const keys = items.map(sortKey);
  const sorted = [...keys].sort((a, b) => (order === 'asc' ? a - b : b - a));
  expect(keys, `${key} sorted ${order}`).toEqual(sorted);
}

function checkProduct(product: Record<string, unknown>): void {
  expect(Object.keys(product).sort()).toEqual(PRODUCT_KEYS);
  expect(product.id).toMatch(UUID);
  expect(typeof product.name).toBe('string');
  expect(typeof product.description).toBe('string');
  expect(product.price).toBeGreaterThan(0);
  expect(Math.abs((product.price as number) * 100 - cents(product.price as number))).toBeLessThan(1e-6);
  expect(Number.isInteger(product.discount) && (product.discount as number) >= 0 && (product.discount as number) <= 99).toBe(true);
  expect(product.quantity).toBe(1);
  expect(product.availability).toBe(true);
  expect(product.created_at).toMatch(ISO_UTC);
}

function checkOrder(order: Record<string, unknown>, sagaStatuses: string[]): void {
  expect(Object.keys(order).sort()).toEqual(ORDER_KEYS);
  expect(order.OrderID).toMatch(UUID);
  expect(order.orderStatus).toBe('New');
  expect(['Online', 'Card', 'Cash']).toContain(order.paymentMethod);
  expect(sagaStatuses).toContain(order.sagaStatus);
  expect(Object.keys(order.client as object).sort()).toEqual(['ClientID', 'ClientName']);
  expect((order.client as { ClientID: string }).ClientID).toMatch(UUID);
  expect(typeof order.address).toBe('string');
  expect(Number.isInteger(order.serialNumber) && (order.serialNumber as number) > 0).toBe(true);
  expect(order.createdAt).toMatch(ISO_UTC);
  const lines = order.products as Record<string, unknown>[];
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(Object.keys(line).sort()).toEqual(['actualPrice', 'name', 'productID']);
    expect(line.productID).toMatch(UUID);
  }
  expect(cents(order.totalPrice as number)).toBe(lines.reduce((sum, line) => sum + cents(line.actualPrice as number), 0));
}
