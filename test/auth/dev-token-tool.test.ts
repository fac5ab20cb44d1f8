import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { eventually } from '../support/polling.js';
import { as } from './auth-fixtures.js';

// `npm run token`: the development identity service that README's curl examples use.

const keysDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'dev-token-')), 'keys');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DEV_KEYS_DIR: keysDir, AUTH_ISSUER: 'dev-issuer', AUTH_AUDIENCE: 'dev-audience' };
const tool = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/tools/token.ts', ...args], { env, timeout: 60_000 });
let server: ReturnType<typeof spawn> | undefined;
let t: TestService | undefined;
afterAll(async () => {
  server?.kill('SIGTERM');
  await t?.close();
  rmSync(path.dirname(keysDir), { recursive: true, force: true });
});

describe('npm run token', () => {
  it('when a token is minted and the JWKS served, then the service accepts the token for its sub and scopes', async () => {
    const sub = randomUUID();
    const { stdout } = await tool('--sub', sub, '--scope', 'orders:read', '--alg', 'RS256');
    const token = stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(statSync(keysDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(keysDir, 'signing-keys.json')).mode & 0o777).toBe(0o600);

    server = spawn(process.execPath, ['--import', 'tsx', 'src/tools/token.ts', 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const url = /(http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json)/.exec(String(line))![1]!;
    t = await startTestService({ AUTH_JWKS_URL: url, AUTH_ISSUER: 'dev-issuer', AUTH_AUDIENCE: 'dev-audience' });
    await eventually('the keys', async () => t!.service.accessTokens!.keys.ready);

    expect((await as(t.http.get(`/api/v1/orders/user/${sub}`), token)).status).toBe(200);
    expect((await as(t.http.get(`/api/v1/orders/user/${randomUUID()}`), token)).status).toBe(403);
  });

  it('when the arguments are wrong, then it prints the usage and exits 2', async () => {
    const failure = await tool('--scope', 'orders:read').catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
  });
});
