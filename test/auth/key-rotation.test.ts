import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { generateSigningKey } from '../../src/tools/dev-identity.js';
import { as, startAuthService } from './auth-fixtures.js';

// The identity service's keys: fetched once at start, again once for a token signed with a new key (rotation),
// never more often than the cooldown allows, and in the background.

const opened: { t?: TestService; idp?: TestIdentityProvider }[] = [];
afterEach(async () => {
  for (const { t, idp } of opened.splice(0)) {
    await t?.close();
    await idp?.close();
  }
});

async function start(env: Record<string, string>) {
  const idp = await TestIdentityProvider.start();
  const t = await startAuthService(idp, env);
  opened.push({ t, idp });
  return { idp, t };
}

const products = (t: TestService, token: string) => as(t.http.get('/api/v1/products'), token);

describe('verified tokens', () => {
  it('when the same token comes again, then its signature is not checked again; another token is', async () => {
    const { idp, t } = await start({});
    const lookups = vi.spyOn(t.service.accessTokens!.keys, 'getKey');
    const token = await idp.token(randomUUID());
    for (let i = 0; i < 3; i++) expect((await products(t, token)).status).toBe(200);
    expect(lookups).toHaveBeenCalledTimes(1);
    expect((await products(t, await idp.token(randomUUID()))).status).toBe(200);
    expect(lookups).toHaveBeenCalledTimes(2);
  });

  it('when a refused token comes again, then it is checked (and refused) again', async () => {
    const { idp, t } = await start({});
    const lookups = vi.spyOn(t.service.accessTokens!.keys, 'getKey');
    const expired = await idp.token(randomUUID(), { ttlSeconds: -60 });
    for (let i = 0; i < 2; i++) expect((await products(t, expired)).status).toBe(401);
    expect(lookups).toHaveBeenCalledTimes(2);
  });
});

describe('key rotation', () => {
  it('when the service starts, then it fetches the key set once', async () => {
    const { idp, t } = await start({});
    expect((await products(t, await idp.token(randomUUID()))).status).toBe(200);
    expect(idp.fetches).toBe(1);
  });

  it('when a token is signed with a key published after start, then the key set is fetched again once and the token is accepted', async () => {
    const { idp, t } = await start({ AUTH_JWKS_COOLDOWN: '0s' });
    const rotated = await generateSigningKey('RS256');
    idp.publish(rotated);
    const token = await idp.token(randomUUID(), { key: rotated });
    expect((await products(t, token)).status).toBe(200);
    expect(idp.fetches).toBe(2);
    // Known from now on: no more fetches for it.
    expect((await products(t, token)).status).toBe(200);
    expect(idp.fetches).toBe(2);
  });

  it('when many tokens name unknown keys within the cooldown, then they are refused without fetching the key set again', async () => {
    const { idp, t } = await start({ AUTH_JWKS_COOLDOWN: '10m' });
    for (let i = 0; i < 20; i++) {
      const stranger = { ...(await generateSigningKey('ES256')), kid: randomUUID() };
      const res = await products(t, await idp.token(randomUUID(), { key: stranger }));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('unknown key');
    }
    expect(idp.fetches).toBe(1);
  });

  it('when a key is published after start, then the background refresh picks it up without any token asking for it', async () => {
    const { idp, t } = await start({ AUTH_JWKS_COOLDOWN: '10m', AUTH_JWKS_REFRESH: '1s' });
    const rotated = await generateSigningKey('ES256');
    idp.publish(rotated);
    await eventually('the refresh', async () => idp.fetches >= 2);
    expect((await products(t, await idp.token(randomUUID(), { key: rotated }))).status).toBe(200);
  });
});
