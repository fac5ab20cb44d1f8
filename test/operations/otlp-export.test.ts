import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { createTestVhost } from '../support/rabbitmq.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { eventually } from '../support/polling.js';
import { publishReplyTo } from '../support/workload.js';
import { checkedFetch } from '../support/http-validation.js';
import { deleteKeysWithPrefix } from '../support/test-redis.js';

// The service as `npm start` runs it (main.ts under tsx), exporting over OTLP to a receiver in this test: what
// OTEL_EXPORTER_OTLP_ENDPOINT turns on, with every official instrumentation patched as main.ts loads the service.

let receiver: OtlpReceiver;
let child: ChildProcess;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let vhost: Awaited<ReturnType<typeof createTestVhost>>;
let api: string;
/** fetch on the service's port, answers checked against its /openapi.json (no METRICS_PORT: /metrics is documented there). */
let http: typeof fetch;
const lines: Record<string, unknown>[] = [];
/** The spawned service's Redis key prefix, deleted afterwards. */
const redisPrefix = `os_test:${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  database = await createTestDatabase();
  vhost = await createTestVhost();
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      AMQP_URL: vhost.url,
      REDIS_KEY_PREFIX: redisPrefix,
      PORT: '0',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // The receiver runs in this test's worker, which a loaded machine may keep busy past the default 10 s: an
      // export that times out is dropped with its spans, and the trace would never be whole.
      OTEL_EXPORTER_OTLP_TIMEOUT: '30000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const port = await eventually('the service to listen', async () => lines.find((line) => line.message === 'http listening')?.port as number | undefined);
  api = `http://127.0.0.1:${port}/api/v1`;
  http = checkedFetch(`http://127.0.0.1:${port}`);
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await receiver?.close();
  await deleteKeysWithPrefix(redisPrefix);
  await vhost?.delete();
  await database?.drop();
});

async function send(method: string, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
  return http(`${api}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body && JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
}

/** The request path of an HTTP server span (old or stable semantic conventions). */
function pathOf(span: ReceivedSpan): string | undefined {
  return span.scope.includes('instrumentation-http') && span.kind === 2 ? (span.attributes['url.path'] ?? span.attributes['http.target']) : undefined;
}

describe('traces exported over OTLP', () => {
  it('when OTEL_EXPORTER_OTLP_ENDPOINT is set, then one order is one exported trace with spans of every instrumentation and of the service, and its log lines name it', async () => {
    const [addressID, userID, productID, orderID] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await send('POST', '/addresses', { addressID, buildingNumber: 1, streetName: 's', city: 'c', country: 'c' });
    await send('POST', '/users', { userID, username: 'u', addressID });
    await send('POST', '/products', { productID, name: `P ${productID}`, description: 'd', price: 5, discount: 0 });
    const traceId = randomBytes(16).toString('hex');
    const created = await send('POST', '/orders', { orderID, paymentMethod: 'Card', productsIDs: [productID], userID, deliveryAddress: addressID }, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
    expect(created.status).toBe(204);
    // Typed by hand: no headers; the service continues the order's trace from its outbox.
    await publishReplyTo(vhost.url, { orderID, orderType: 'Approved' });
    await eventually('the projection', async () => ((await (await send('GET', `/orders/user/${userID}`)).text()).includes(orderID) ? true : undefined));

    const scopes = ['instrumentation-http', 'instrumentation-express', 'instrumentation-pg', 'instrumentation-amqplib', 'instrumentation-ioredis', 'order-service/mediator', 'order-service/outbox', 'order-service/messaging'];
    const scopesInTrace = () => new Set(receiver.spans.filter((span) => span.traceId === traceId).map((span) => scopes.find((scope) => span.scope.includes(scope))));
    const seen = await eventually('spans of every instrumentation in the trace', async () => {
      const inTrace = scopesInTrace();
      return scopes.every((scope) => inTrace.has(scope)) ? inTrace : undefined;
    }).catch((error: unknown) => {
      // What the trace has, to tell a span never made from one made in another trace.
      const inTrace = scopesInTrace();
      const names = receiver.spans.filter((span) => span.traceId === traceId).map((span) => `${span.scope}:${span.name}`);
      throw new Error(`${String(error)}; missing ${scopes.filter((scope) => !inTrace.has(scope)).join(', ')}; ${receiver.spans.length} spans received, in the trace: ${names.join(' | ')}`);
    });
    expect([...seen].sort()).toEqual(expect.arrayContaining([...scopes].sort()));
    const names = receiver.spans.filter((span) => span.traceId === traceId).map((span) => span.name);
    expect(names).toEqual(expect.arrayContaining(['command CreateOrder', 'outbox publish', 'CustomerSaga handle', 'command ApproveOrder', 'Orders handle']));
    expect(lines.filter((line) => line.trace_id === traceId).map((line) => line.message)).toEqual(expect.arrayContaining(['command CreateOrder handled', 'command ApproveOrder handled']));
    // Probes and scrapes make no traces; the API's requests do.
    const origin = api.replace('/api/v1', '');
    for (const path of ['/healthcheck', '/readyz', '/metrics']) await http(`${origin}${path}`, { signal: AbortSignal.timeout(10_000) });
    await eventually('the orders route traced', async () => receiver.spans.some((span) => pathOf(span) === '/api/v1/orders'));
    expect(receiver.spans.filter((span) => /^\/(healthcheck|readyz|metrics)/.test(pathOf(span) ?? '')).map(pathOf)).toEqual([]);
  }, 240_000); // each wait has its own 90 s deadline, so a stall names the wait that stalled
});
