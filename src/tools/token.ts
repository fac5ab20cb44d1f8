// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { config as loadDotenv } from 'dotenv';
import { parseDuration } from '../platform/duration.js';
import { JWKS_PATH, loadOrCreateKeys, mintToken, serveJwks } from './dev-identity.js';

/**
 * A development identity service (README, "Running with authentication"):
 *
 *   npm run --silent token -- --sub <userID> --scope "orders:read orders:write"   prints an access token
 *   npm run token -- serve [--host 127.0.0.1] [--port 8100]                       serves the JWKS that verifies it
 *
 * The keys live in DEV_KEYS_DIR (default .dev-keys, git-ignored), made on first use. Issuer and audience are
 * AUTH_ISSUER and AUTH_AUDIENCE as the service reads them (environment, .env, .env.example), so its tokens fit.
 */
const USAGE = `usage:
  npm run --silent token -- --sub <userID> [--scope "orders:read orders:write"] [--ttl 1h] [--alg ES256|RS256]
  npm run token -- serve [--host 127.0.0.1] [--port 8100]`;

async function main(): Promise<void> {
  loadDotenv({ path: ['.env', '.env.example'], quiet: true });
  const { values, positionals } = parseArguments();
  const serving = positionals[0] === 'serve';
  if (serving ? positionals.length > 1 : positionals.length > 0 || !values.sub) throw new UsageError(USAGE);
  const ttlMs = parseDuration(values.ttl);
  if (ttlMs === undefined || ttlMs < 1_000) throw new UsageError(`--ttl: "${values.ttl}" is not a duration such as 15m or 1h`);
  const keys = await loadOrCreateKeys(process.env.DEV_KEYS_DIR || '.dev-keys');
  if (serving) return serve(keys, values.host, Number(values.port));
  const key = keys.find((candidate) => candidate.alg === values.alg.toUpperCase());
  if (!key) throw new UsageError(`--alg: ${values.alg} is not ES256 or RS256`);
  const token = await mintToken(key, {
    sub: values.sub!,
    scope: values.scope,
    issuer: process.env.AUTH_ISSUER || 'order-service-dev',
    audience: process.env.AUTH_AUDIENCE || 'order-service',
    ttlSeconds: Math.round(ttlMs / 1000),
  });
  process.stdout.write(`${token}\n`);
}

function parseArguments() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        sub: { type: 'string' },
        scope: { type: 'string', default: '' },
        ttl: { type: 'string', default: '1h' },
        alg: { type: 'string', default: 'ES256' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8100' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function serve(keys: Awaited<ReturnType<typeof loadOrCreateKeys>>, host: string, port: number): Promise<void> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: ${port} is not a port`);
  const server = await serveJwks(() => keys, host, port);
  const address = server.address() as { port: number };
  console.log(`token: serving the JWKS of ${keys.map((key) => `${key.alg} ${key.kid}`).join(', ')} at http://${host}:${address.port}${JWKS_PATH}; Ctrl-C stops`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
}

class UsageError extends Error {}

main().catch((error) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(error instanceof UsageError ? 2 : 1);
});
