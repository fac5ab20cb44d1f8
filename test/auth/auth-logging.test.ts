import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { as } from './auth-fixtures.js';
import { unreachableRedisSettings } from '../support/test-redis.js';

// The token's subject goes into every log line of its request; the token itself into none.

const lines: string[] = [];
let idp: TestIdentityProvider;
let t: TestService;
beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  const logger = createLogger({ level: 'debug' });
  logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) }));
  t = await startTestService(idp.authEnv(), { logger });
  await eventually('the keys', async () => t.service.accessTokens!.keys.ready);
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

const linesOf = (correlationId: string) => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.correlationId === correlationId);

describe('logs of authenticated requests', () => {
  it("when a request with a valid token is handled, then each of its log lines names the token's sub and none holds the token", async () => {
    const sub = randomUUID();
    const token = await idp.token(sub, { scope: 'catalog:write' });
    const requestId = `log-${randomUUID()}`;
    const res = await as(t.http.post('/api/v1/products'), token).set('X-Request-Id', requestId).send({ productID: randomUUID(), name: `Log ${sub}`, price: 1, discount: 0 });
    expect(res.status).toBe(204);
    const mine = linesOf(requestId);
    expect(mine.map((line) => line.message)).toEqual(expect.arrayContaining(['command CreateProduct handled', 'request']));
    for (const line of mine) expect(line.sub).toBe(sub);
    const signature = token.split('.')[2]!;
    expect(lines.filter((line) => line.includes(signature))).toEqual([]);
  });

  it("when an authenticated request fails because PostgreSQL is unreachable, then the 503's lines (the error handler's too) name the sub and none holds the token", async () => {
    // A replica of the service whose database and Redis cannot be reached: the handler fails with 503 after the
    // request's logging context ended, in the error handler.
    const broken = t.sibling({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none', ...unreachableRedisSettings(), DEPENDENCY_TIMEOUT: '300ms' });
    try {
      await eventually('the replica keys', async () => broken.service.accessTokens!.keys.ready);
      const sub = randomUUID();
      const token = await idp.token(sub, { scope: 'customers:write' });
      const requestId = `log-${randomUUID()}`;
      const res = await as(broken.http.post('/api/v1/addresses'), token)
        .set('X-Request-Id', requestId)
        .send({ addressID: randomUUID(), buildingNumber: 1, streetName: 's', city: 'c', country: 'x' });
      expect(res.status).toBe(503);
      const mine = linesOf(requestId);
      expect(mine.map((line) => line.message)).toEqual(expect.arrayContaining(['dependency unavailable', 'request']));
      for (const line of mine) expect(line.sub, String(line.message)).toBe(sub);
      expect(lines.filter((line) => line.includes(token.split('.')[2]!))).toEqual([]);
    } finally {
      await broken.close();
    }
  });

  it('when a request with a refused token is logged, then the line holds neither the token nor a sub', async () => {
    const token = await idp.token(randomUUID(), { ttlSeconds: -60 });
    const requestId = `log-${randomUUID()}`;
    expect((await as(t.http.get('/api/v1/products'), token).set('X-Request-Id', requestId)).status).toBe(401);
    const mine = linesOf(requestId);
    expect(mine).toEqual([expect.objectContaining({ message: 'request', status: 401 })]);
    expect(mine[0]!.sub).toBeUndefined();
    expect(lines.filter((line) => line.includes(token.split('.')[2]!))).toEqual([]);
  });
});
