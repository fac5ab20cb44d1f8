import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { eventually } from '../support/polling.js';
import { assertRawAnswerDeclared, checkedFetch } from '../support/http-validation.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';

// The http role as main.ts starts it: a real listener with the server limits, /metrics on a listener of its
// own, and the start-up line saying whether authentication is on.

const lines: Record<string, unknown>[] = [];
let t: TestService;
let role: RunningRole;
let port: number;
let metricsPort: number;
/** fetch on the API's port, answers checked against its /openapi.json. */
let api: typeof fetch;
beforeAll(async () => {
  const logger = createLogger({ level: 'info' });
  logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }) }));
  t = await startTestService({ PORT: '0', REQUEST_TIMEOUT: '1s', HEADERS_TIMEOUT: '1s', MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_ADDRESS: '0', METRICS_PORT: '0' }, { logger });
  role = await ROLE_STARTERS.http(t.service);
  const listening = lines.find((line) => line.message === 'http listening')!;
  port = listening.port as number;
  metricsPort = Number(String(listening.metrics).split(':').at(-1));
  api = checkedFetch(`http://127.0.0.1:${port}`);
});
afterAll(async () => {
  await role?.stop();
  await t?.close();
});

/** A raw connection, for requests no well-behaved client would send, and everything the server sends until it closes it. */
async function connect(): Promise<{ socket: net.Socket; answer: Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk) => (text += String(chunk)));
  socket.on('error', () => undefined);
  const answer = once(socket, 'close').then(() => text);
  await once(socket, 'connect');
  return { socket, answer };
}

describe('the http role', () => {
  it('when it starts, then it logs where it listens and that authentication is off (loopback, no AUTH_JWKS_URL)', () => {
    expect(lines).toContainEqual(expect.objectContaining({ message: 'http listening', host: '127.0.0.1', auth: 'off', port: expect.any(Number) }));
  });

  it('when a client sends its body too slowly, then it gets 408 and the connection is closed after REQUEST_TIMEOUT', async () => {
    const { socket, answer } = await connect();
    socket.write('POST /api/v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"productID":');
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    await assertRawAnswerDeclared(`http://127.0.0.1:${port}`, { method: 'POST', url: '/api/v1/products' }, text);
  });

  it('when MAX_CONNECTIONS connections are open, then another one is closed at once, and accepted again once one closes', async () => {
    const [first, second] = [await connect(), await connect()];
    const third = await connect();
    third.socket.end('GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await third.answer).toBe('');
    first.socket.destroy();
    second.socket.destroy();
    await Promise.all([first.answer, second.answer]);
    // The server learns of the two closes a moment later; until then it may still refuse.
    const status = await eventually('a connection accepted again', () => api(`http://127.0.0.1:${port}/healthcheck`).then((res) => res.status, () => undefined));
    expect(status).toBe(200);
  });

  it('when METRICS_PORT is set, then /metrics is served there and not on the API port', async () => {
    expect((await api(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    // The metrics listener serves /metrics only and has no document of its own (its /openapi.json would be a 404),
    // so this one answer is read with a bare fetch, unchecked; /metrics on the API port is checked (app.ts documents it there).
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('http_request_duration_seconds');
    const openApi = (await (await api(`http://127.0.0.1:${port}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openApi.paths)).not.toContain('/metrics');
  });
});

describe('starting with authentication on', () => {
  it('when AUTH_JWKS_URL is set, then the start-up line says authentication is on', async () => {
    const idp = await TestIdentityProvider.start();
    const authed = t.sibling({ ...idp.authEnv(), PORT: '0', METRICS_PORT: '' });
    const started = await ROLE_STARTERS.http(authed.service);
    try {
      expect(lines.filter((line) => line.message === 'http listening').at(-1)).toMatchObject({ auth: 'on' });
    } finally {
      await started.stop();
      await authed.close();
      await idp.close();
    }
  });
});

describe('refusing to start', () => {
  it('when the service is asked to listen on 0.0.0.0 without authentication, then it exits with a message naming the setting and no stack', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', HOST: '0.0.0.0' };
    const failure = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, timeout: 60_000 }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/^invalid configuration: the service cannot start with this setting:\n {2}AUTH_JWKS_URL is required when HOST \(0\.0\.0\.0\) is not a loopback address/);
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  });
});
