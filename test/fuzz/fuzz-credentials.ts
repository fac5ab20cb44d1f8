import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { TestIdentityProvider } from '../support/identity-provider.js';
import { generateSigningKey } from '../../src/tools/dev-identity.js';
import { HEADER_TEXT } from './fuzz-values.js';

export const ALL_SCOPES = 'orders:read orders:write orders:admin catalog:write customers:write';

/** Token defects the fuzz sends, each made once per run. */
export const BROKEN_TOKENS = ['expired', 'not-yet-valid', 'wrong-issuer', 'wrong-audience', 'unknown-key', 'wrong-signature', 'unsigned', 'hmac', 'truncated'] as const;
export type BrokenToken = (typeof BROKEN_TOKENS)[number];

/**
 * How a request authenticates: mostly with a valid token holding every scope (so it reaches its handler), in
 * about one request of seven with none, a broken token, or any Authorization header at all (always a 401).
 */
export type Credentials = { kind: 'valid' } | { kind: 'none' } | { kind: 'broken'; token: BrokenToken } | { kind: 'raw'; header: string };

export const credentials: fc.Arbitrary<Credentials> = fc.oneof(
  { weight: 18, arbitrary: fc.constant<Credentials>({ kind: 'valid' }) },
  fc.constant<Credentials>({ kind: 'none' }),
  fc.constantFrom(...BROKEN_TOKENS).map((token): Credentials => ({ kind: 'broken', token })),
  fc.oneof(HEADER_TEXT, HEADER_TEXT.map((text) => `Bearer ${text}`), fc.constantFrom('Bearer', 'Bearer ', 'bearer x.y.z', 'Basic YTpi', 'Bearer a.b.c.d', `Bearer ${'A'.repeat(9000)}`)).map(
    (header): Credentials => ({ kind: 'raw', header }),
  ),
);

/** Makes one token per defect with the provider; returns the Authorization header of any credentials (or none). */
export async function authorizationHeaders(provider: TestIdentityProvider, validToken: string): Promise<(credentials: Credentials) => string | undefined> {
  const sub = randomUUID();
  const scope = ALL_SCOPES;
  const stranger = await generateSigningKey('ES256');
  const broken: Record<BrokenToken, string> = {
    expired: await provider.token(sub, { scope, ttlSeconds: -60 }),
    'not-yet-valid': await provider.token(sub, { scope, notBeforeSeconds: 600 }),
    'wrong-issuer': await provider.token(sub, { scope, issuer: 'https://elsewhere.test' }),
    'wrong-audience': await provider.token(sub, { scope, audience: 'elsewhere' }),
    'unknown-key': await provider.token(sub, { scope, key: stranger }),
    'wrong-signature': await provider.token(sub, { scope, key: { ...stranger, kid: provider.keys.ES256.kid } }),
    unsigned: provider.unsignedToken(sub, scope),
    hmac: await provider.hmacToken(sub, scope),
    truncated: validToken.slice(0, -10),
  };
  return (credentials) => {
    switch (credentials.kind) {
      case 'valid':
        return `Bearer ${validToken}`;
      case 'broken':
        return `Bearer ${broken[credentials.token]}`;
      case 'raw':
        return credentials.header;
      case 'none':
        return undefined;
    }
  };
}
