import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/**
 * A stand-in identity service for development, tests and benchmarks: signing keys, access tokens (RFC 9068
 * JWTs) and the JWKS that the order service verifies them with. Not for production: whoever holds the key
 * directory can mint any token.
 */
export type SigningAlgorithm = 'ES256' | 'RS256';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** The public half as the JWKS publishes it (kid, alg, use=sig). */
  publicJwk: JWK;
}

export interface TokenClaims {
  sub: string;
  /** Space-separated scopes, RFC 9068's `scope` claim. */
  scope?: string;
  issuer: string;
  audience: string;
  /** Lifetime from now; negative for a token that has already expired. */
  ttlSeconds: number;
  /** Seconds from now before which the token is not valid yet (nbf), if any. */
  notBeforeSeconds?: number;
}

export const JWKS_PATH = '/.well-known/jwks.json';
const KEY_FILE = 'signing-keys.json';

export async function generateSigningKey(alg: SigningAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return withPublicJwk(alg, privateKey, await exportJWK(publicKey));
}

export async function mintToken(key: SigningKey, claims: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims.scope === undefined ? {} : { scope: claims.scope })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setSubject(claims.sub)
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + claims.ttlSeconds)
    .setJti(randomUUID());
  if (claims.notBeforeSeconds !== undefined) jwt.setNotBefore(now + claims.notBeforeSeconds);
  return jwt.sign(key.privateKey);
}

export function jwksOf(keys: readonly SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}

/**
 * The keys kept in `dir` (an ES256 and an RS256 key), made on first use: the directory is created readable by
 * its owner only and the file likewise, since the private keys are in it.
 */
export async function loadOrCreateKeys(dir: string): Promise<SigningKey[]> {
  const file = path.join(dir, KEY_FILE);
  const stored = await readFile(file, 'utf8').then((text) => JSON.parse(text) as { alg: SigningAlgorithm; jwk: JWK }[], () => undefined);
  if (stored) return Promise.all(stored.map(async ({ alg, jwk }) => withPublicJwk(alg, (await importJWK(jwk, alg, { extractable: true })) as CryptoKey, publicPart(jwk))));
  const keys = [await generateSigningKey('ES256'), await generateSigningKey('RS256')];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const records = await Promise.all(keys.map(async (key) => ({ alg: key.alg, jwk: await exportJWK(key.privateKey) })));
  await writeFile(file, `${JSON.stringify(records, null, 1)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return keys;
}

/** Serves `GET /.well-known/jwks.json` with the keys' public halves (`keys` is read per request). */
export async function serveJwks(keys: () => readonly SigningKey[], host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== JWKS_PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(jwksOf(keys())));
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}

async function withPublicJwk(alg: SigningAlgorithm, privateKey: CryptoKey, publicJwk: JWK): Promise<SigningKey> {
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg, privateKey, publicJwk: { ...publicPart(publicJwk), kid, alg, use: 'sig' } };
}

/** A JWK without its private members. */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined)) as JWK;
}
