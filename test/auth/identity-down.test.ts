import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { as, startAuthService } from './auth-fixtures.js';

// The identity service is down when the order service starts: it starts anyway, says so in /readyz, and answers
// 503 (not 401) to valid tokens until the keys arrive.

let idp: TestIdentityProvider;
let t: TestService;
beforeAll(async () => {
  idp = await TestIdentityProvider.start({ down: true });
  t = await startAuthService(idp, {}, false);
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
  await eventually('a failed fetch', async () => idp.fetches >= 1);
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

describe('identity service down at start', () => {
  it('when the keys are not loaded, then /readyz is 503 with auth down and the rest up', async () => {
    const res = await t.http.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', checks: { postgres: 'up', redis: 'up', rabbitmq: 'up', auth: 'down' } });
  });

  it('when a valid token comes before the keys, then it answers 503, not 401', async () => {
    const res = await as(t.http.get('/api/v1/products'), await idp.token(randomUUID()));
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ message: expect.stringMatching(/^cannot check the access token now/), data: 'auth' });
  });

  it('when no token or an unsigned one comes before the keys, then it still answers 401', async () => {
    expect((await t.http.get('/api/v1/products')).status).toBe(401);
    expect((await as(t.http.get('/api/v1/products'), idp.unsignedToken(randomUUID(), ''))).status).toBe(401);
  });

  it('when the identity service comes back, then the keys are fetched in the background and the same token is answered 200', async () => {
    const token = await idp.token(randomUUID());
    idp.down = false;
    await eventually('readiness', async () => (await t.http.get('/readyz')).status === 200);
    expect((await t.http.get('/readyz')).body.checks.auth).toBe('up');
    expect((await as(t.http.get('/api/v1/products'), token)).status).toBe(200);
  });
});
