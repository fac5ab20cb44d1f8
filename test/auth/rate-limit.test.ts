import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { as, startAuthService } from './auth-fixtures.js';
import { connectTestRedis, unreachableRedisSettings } from '../support/test-redis.js';

// The per-client rate limit with authentication on: a client is its token's sub, shared through Redis.

let idp: TestIdentityProvider;
let t: TestService;
beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  t = await startAuthService(idp, { RATE_LIMIT: '3', RATE_LIMIT_WINDOW: '1h' });
  await redisReady(t);
});

/** The service's Redis client has no offline queue: until it is connected, the limiter counts in memory. */
const redisReady = (service: TestService) => eventually('redis', async () => service.service.redis.status === 'ready');
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

const products = (service: TestService, token?: string) => (token ? as(service.http.get('/api/v1/products'), token) : service.http.get('/api/v1/products'));

describe('rate limit per client', () => {
  it('when a client sends more than RATE_LIMIT requests in a window, then the next answers 429 with Retry-After and the RateLimit headers', async () => {
    const token = await idp.token(randomUUID());
    const remaining = [];
    for (let i = 0; i < 3; i++) {
      const res = await products(t, token);
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-policy']).toBe('"per-client";q=3;w=3600');
      remaining.push(/;r=(\d+);/.exec(res.headers.ratelimit!)?.[1]);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await products(t, token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers.ratelimit).toMatch(/^"per-client";r=0;t=\d+$/);
    expect(refused.body).toEqual({ message: 'too many requests, slow down', data: refused.headers['retry-after'] });
  });

  it('when another client (another sub) asks, then it has a budget of its own', async () => {
    const first = await idp.token(randomUUID());
    for (let i = 0; i < 4; i++) await products(t, first);
    expect((await products(t, await idp.token(randomUUID()))).status).toBe(200);
  });

  it("when a second replica serves the same client, then it counts against the same budget (shared through Redis, under the service's key prefix)", async () => {
    const sub = randomUUID();
    const token = await idp.token(sub);
    const replica = t.sibling({ RATE_LIMIT: '3', RATE_LIMIT_WINDOW: '1h' });
    await redisReady(replica);
    try {
      for (const service of [t, replica, t]) expect((await products(service, token)).status).toBe(200);
      expect((await products(replica, token)).status).toBe(429);
      const redis = connectTestRedis();
      expect(await redis.get(`${t.redisPrefix}ratelimit:sub:${sub}`)).toBe('4');
      redis.disconnect();
    } finally {
      await replica.close();
    }
  });

  it('when requests carry no valid token, then they are counted by client address, so bad tokens are limited too', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await products(t, 'not-a-token')).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('when Redis is down, then each process limits in memory instead of failing requests', async () => {
    const offline = t.sibling({ ...unreachableRedisSettings(), RATE_LIMIT: '2', RATE_LIMIT_WINDOW: '1h', DEPENDENCY_TIMEOUT: '300ms' });
    try {
      const token = await idp.token(randomUUID());
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await products(offline, token)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await offline.close();
    }
  });
});
