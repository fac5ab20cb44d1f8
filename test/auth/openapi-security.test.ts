import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

// /openapi.json declares the bearer scheme and each route's scopes, from the same RouteSpec that Express enforces.

let t: TestService;
let doc: { components: Record<string, Record<string, unknown>>; paths: Record<string, Record<string, { security: unknown; responses: Record<string, unknown> }>> };
beforeAll(async () => {
  t = await startTestService();
  doc = (await t.http.get('/openapi.json')).body;
});
afterAll(() => t.close());

describe('OpenAPI security', () => {
  it('when the document is read, then it declares a bearer JWT scheme', () => {
    expect(doc.components.securitySchemes).toEqual({ bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }) });
  });

  it('when a route needs scopes, then its operation lists them as alternatives; reading products needs any valid token', () => {
    const security = (path: string, method: string) => doc.paths[`/api/v1${path}`]![method]!.security;
    expect(security('/orders', 'get')).toEqual([{ bearer: ['orders:admin'] }]);
    expect(security('/orders', 'post')).toEqual([{ bearer: ['orders:write'] }, { bearer: ['orders:admin'] }]);
    expect(security('/orders/{orderID}', 'get')).toEqual([{ bearer: ['orders:read'] }, { bearer: ['orders:admin'] }]);
    expect(security('/orders/user/{userID}', 'get')).toEqual([{ bearer: ['orders:read'] }, { bearer: ['orders:admin'] }]);
    expect(security('/products', 'post')).toEqual([{ bearer: ['catalog:write'] }]);
    expect(security('/products/{productID}/productName', 'put')).toEqual([{ bearer: ['catalog:write'] }]);
    expect(security('/addresses', 'post')).toEqual([{ bearer: ['customers:write'] }]);
    expect(security('/users', 'post')).toEqual([{ bearer: ['customers:write'] }]);
    expect(security('/products', 'get')).toEqual([{ bearer: [] }]);
    expect(security('/sagas', 'get')).toEqual([{ bearer: ['orders:admin'] }]);
    expect(security('/orders/{orderID}/history', 'get')).toEqual([{ bearer: ['orders:admin'] }]);
  });

  it('when an API operation is read, then it documents 401 and 429, and 403 where it needs a scope; operational routes are public', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const operation of Object.values(operations)) {
        const statuses = Object.keys(operation.responses);
        if (!path.startsWith('/api/v1')) {
          expect(operation.security, path).toEqual([]);
          continue;
        }
        expect(statuses, path).toEqual(expect.arrayContaining(['401', '429']));
        const needsScope = (operation.security as { bearer: string[] }[]).some((alternative) => alternative.bearer.length > 0);
        expect(statuses.includes('403'), path).toBe(needsScope);
      }
    }
  });
});
