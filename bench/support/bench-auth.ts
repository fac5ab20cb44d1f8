/**
 * BENCH_AUTH=1: the benchmarks run the service with authentication on. A development identity service (the
 * `npm run token` code, keys made for this run) serves its JWKS from the benchmark's own process; AUTH_JWKS_URL,
 * AUTH_ISSUER and AUTH_AUDIENCE go into process.env, so every service process spawned afterwards checks tokens
 * against it, and every request the benchmark sends carries an admin token (authHeaders()). Unset, nothing changes.
 */
import { randomUUID } from 'node:crypto';
import { generateSigningKey, JWKS_PATH, mintToken, serveJwks } from '../../src/tools/dev-identity.js';

const ISSUER = 'bench-identity';
const AUDIENCE = 'order-service';
let headers: Record<string, string> = {};
let started: Promise<void> | undefined;

export const benchAuthOn = () => process.env.BENCH_AUTH === '1';

/** Starts the identity service once per process when BENCH_AUTH=1; later calls wait for the first. */
export function startBenchAuth(): Promise<void> {
  if (!benchAuthOn()) return Promise.resolve();
  started ??= (async () => {
    const key = await generateSigningKey('ES256');
    const server = await serveJwks(() => [key], '127.0.0.1', 0);
    server.unref();
    const port = (server.address() as { port: number }).port;
    Object.assign(process.env, { AUTH_JWKS_URL: `http://127.0.0.1:${port}${JWKS_PATH}`, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
    const token = await mintToken(key, {
      sub: randomUUID(),
      scope: 'orders:read orders:write orders:admin catalog:write customers:write',
      issuer: ISSUER,
      audience: AUDIENCE,
      ttlSeconds: 6 * 3600,
    });
    headers = { authorization: `Bearer ${token}` };
  })();
  return started;
}

/** The Authorization header of every benchmark request ({} with authentication off). */
export function authHeaders(): Record<string, string> {
  return headers;
}

/** AUTH_* as process.env holds them, for a service configured from explicit settings rather than the environment. */
export function authSettings(): Record<string, string> {
  const { AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE } = process.env;
  return AUTH_JWKS_URL ? { AUTH_JWKS_URL, AUTH_ISSUER: AUTH_ISSUER ?? '', AUTH_AUDIENCE: AUTH_AUDIENCE ?? '' } : {};
}
