import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import type pg from 'pg';
import fc from 'fast-check';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { TestIdentityProvider } from '../support/identity-provider.js';
import { eventually } from '../support/polling.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, seedCatalog } from '../support/fixtures.js';
import { ApproveOrder, RejectOrder } from '../../src/orders/saga/saga-reply-commands.js';
import { ROUTES, type Body, type FuzzRequest } from './fuzz-requests.js';
import { ALL_SCOPES, authorizationHeaders } from './fuzz-credentials.js';
import { renderValue, type Pool, type Ref } from './fuzz-values.js';
import { checkAnswer, type Answer } from './contract-checks.js';
import { checkedAgent, checkedHttp } from '../support/http-validation.js';

// Property-based tests over every route of CONTRACT.md. FUZZ_RUNS is the number of generated requests for the
// whole file (400 for `make test`, 10,000 or more for `make faults`); FUZZ_SEED replays a failing run.
const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const RUNS_PER_ROUTE = Math.max(5, Math.ceil(TOTAL_RUNS / ROUTES.length));
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

let idp: TestIdentityProvider;
let t: TestService;
/** An admin with every scope, so that requests reach their handlers; the header of each kind of credentials. */
let validToken: string;
let authorization: Awaited<ReturnType<typeof authorizationHeaders>>;
let server: Server;
let http: ReturnType<typeof supertest>;
let db: pg.Client;
/** The live catalogue that generated requests draw their ids from, refreshed after every successful write. */
let pools: Record<Pool, string[]>;
let fingerprint: string;
const seenPending = new Set<string>();
const stats = { sent: 0, byStatus: new Map<number, number>(), byRoute: new Map<string, Map<number, number>>() };

beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  t = await startTestService(idp.authEnv());
  await eventually('the identity service keys', async () => t.service.accessTokens!.keys.ready);
  validToken = await idp.token(randomUUID(), { scope: ALL_SCOPES });
  authorization = await authorizationHeaders(idp, validToken);
  // The seeding below goes through the API as the admin.
  t = { ...t, http: checkedAgent(supertest.agent(t.app).set('Authorization', `Bearer ${validToken}`), t.app) as unknown as TestService['http'] };
  server = createServer(t.app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  http = checkedHttp(server);
  db = await connectPg(t.databaseUrl);
  const catalog = await seedCatalog(t, 3, [100, 9.99, 0.01]);
  const mediate = (type: typeof ApproveOrder | typeof RejectOrder, orderID: string) => t.service.mediator.send(type, { orderID }, 'fuzz-seed');
  const [pending, approved, rejected, deleted] = [orderBody(catalog), orderBody(catalog), orderBody(catalog), orderBody(catalog)];
  for (const body of [pending, approved, rejected, deleted]) await expect204(t.http.post('/api/v1/orders').send(body));
  await mediate(ApproveOrder, approved.orderID);
  await mediate(RejectOrder, rejected.orderID);
  await mediate(ApproveOrder, deleted.orderID);
  await expect204(t.http.delete(`/api/v1/orders/${deleted.orderID}`));
  for (const id of [pending, approved, rejected, deleted].map((body) => body.orderID)) seenPending.add(id);
  await refreshPools();
  fingerprint = await takeFingerprint();
});

afterAll(async () => {
  const statuses = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
  const routes = [...stats.byRoute.entries()].map(([route, byStatus]) => `  ${route.padEnd(40)} ${[...byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ')}`);
  console.log(`HTTP fuzz: ${stats.sent} requests (FUZZ_RUNS=${TOTAL_RUNS}, ${RUNS_PER_ROUTE} per route); statuses ${statuses.join(', ')}\n${routes.join('\n')}`);
  await db?.end();
  server?.close();
  await t?.close();
  await idp?.close();
});

/**
 * A cheap fingerprint of every table that a request can change: row count and newest xmin per table. Any
 * committed insert, update or delete changes it (an update writes a row version with a newer xmin); a rolled
 * back transaction leaves no visible row and so does not. Nothing else writes to this database during the run.
 */
async function takeFingerprint(): Promise<string> {
  const tables = ['products', 'addresses', 'users', 'orders', 'order_lines', 'outbox', 'inbox'];
  const select = tables.map((table) => `SELECT '${table}' AS t, count(*) AS n, coalesce(max(xmin::text::bigint), 0) AS x FROM ${table}`).join(' UNION ALL ');
  const { rows } = await db.query<{ t: string; n: string; x: string }>(select);
  return rows.map((row) => `${row.t}=${row.n}@${row.x}`).join(' ');
}

async function refreshPools(): Promise<void> {
  const [products, addresses, users, orders] = (await db.query(`
    SELECT id::text, name FROM products ORDER BY created_at, id;
    SELECT id::text FROM addresses ORDER BY created_at, id;
    SELECT id::text FROM users ORDER BY created_at, id;
    SELECT id::text, saga_status, deleted_at FROM orders ORDER BY serial_number`)) as unknown as pg.QueryResult[];
  const ids = (result: pg.QueryResult, keep: (row: Record<string, unknown>) => boolean = () => true) => result.rows.filter(keep).map((row) => row.id as string);
  pools = {
    product: ids(products!),
    productName: products!.rows.map((row) => row.name as string),
    // Names that a rename may take (a name may be created lower-case, but only renamed to upper-case).
    upperProductName: products!.rows.map((row) => row.name as string).filter((name) => /^\p{Lu}/u.test(name)),
    address: ids(addresses!),
    user: ids(users!),
    order: ids(orders!),
    pendingOrder: ids(orders!, (row) => row.saga_status === 'Pending'),
    approvedOrder: ids(orders!, (row) => row.saga_status === 'Approved' && row.deleted_at === null),
  };
}

/** Half of the orders the fuzzer creates are approved, so that deletes and lists meet approved orders too. */
async function approveSomeNewOrders(): Promise<void> {
  for (const id of pools.pendingOrder) {
    if (seenPending.has(id)) continue;
    seenPending.add(id);
    if (seenPending.size % 2 === 0) await t.service.mediator.send(ApproveOrder, { orderID: id }, 'fuzz');
  }
  await refreshPools();
}

function resolve(ref: Ref): string {
  const pool = pools[ref.ref];
  const value = pool.length === 0 ? '00000000-0000-4000-8000-000000000000' : pool[ref.pick % pool.length]!;
  // Ids are case-insensitive; names are not, so they go as they are.
  return ref.upper && !/productName$/i.test(ref.ref) ? value.toUpperCase() : value;
}

function render(request: FuzzRequest): { path: string; lastParam: string | undefined; body: Buffer | undefined } {
  const segments = request.segments.map((segment) => (typeof segment === 'string' ? segment : encodeURIComponent(resolve(segment))));
  const prefix = request.absolute ? '' : '/api/v1';
  const path = `${prefix}/${segments.join('/')}${request.trailingSlash ? '/' : ''}${request.query ? `?${request.query}` : ''}`;
  return { path, lastParam: decoded(segments.at(-1)!), body: withEncoding(request) };
}

/** A path segment as Express decodes it into req.params. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function withEncoding(request: FuzzRequest): Buffer | undefined {
  const body = request.body && bodyBytes(request.body);
  return body && request.gzip ? gzipSync(body) : body;
}

function bodyBytes(body: Body): Buffer {
  switch (body.kind) {
    case 'json':
      return Buffer.from(renderValue(body.value, resolve));
    case 'text':
      return Buffer.from(body.text);
    case 'bytes':
      return Buffer.from(body.bytes);
    case 'huge':
      return Buffer.from(`{"description":"${'x'.repeat(body.size)}"}`);
  }
}

async function send(request: FuzzRequest): Promise<{ answer: Answer; path: string; lastParam: string | undefined }> {
  const { path, lastParam, body } = render(request);
  let call = http[request.method](path);
  for (const [name, value] of request.headers) call = call.set(name, value);
  const credentials = authorization(request.credentials);
  if (credentials !== undefined) call = call.set('Authorization', credentials);
  if (request.gzip) call = call.set('Content-Encoding', 'gzip');
  // The bytes go out exactly as rendered: superagent would otherwise serialise a Buffer as JSON for a JSON Content-Type.
  const res = await (body ? call.serialize((data: unknown) => data as string).send(body) : call);
  stats.sent++;
  stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
  const byRoute = stats.byRoute.get(request.route) ?? new Map<number, number>();
  byRoute.set(res.status, (byRoute.get(res.status) ?? 0) + 1);
  stats.byRoute.set(request.route, byRoute);
  return { answer: { status: res.status, text: res.text ?? '', headers: res.headers }, path, lastParam };
}

/** One generated request: the contract holds for its answer, and unless it succeeded as a write, nothing changed. */
async function exercise(request: FuzzRequest): Promise<void> {
  const { answer, path, lastParam } = await send(request);
  const query = path.includes('?') ? path.slice(path.indexOf('?') + 1) : '';
  try {
    checkAnswer(request, answer, query, lastParam);
    const after = await takeFingerprint();
    const wrote = request.method !== 'get' && answer.status === 204;
    if (!wrote) expect(after, 'a rejected request or a read changes no row').toBe(fingerprint);
    if (wrote) {
      await refreshPools();
      if (request.route === 'POST /orders') await approveSomeNewOrders();
      fingerprint = await takeFingerprint();
    }
  } catch (error) {
    (error as Error).message = `${request.method.toUpperCase()} ${path.slice(0, 300)} -> ${answer.status} ${answer.text.slice(0, 300)}\n${(error as Error).message}`;
    fingerprint = await takeFingerprint();
    throw error;
  }
}

describe('HTTP routes under generated requests', () => {
  it.each(ROUTES)(
    'when %s gets valid, near-valid and garbage requests, then it never answers 5xx, errors keep the contract shape and a rejected request changes nothing',
    async (_route, requests) => {
      await fc.assert(fc.asyncProperty(requests, exercise), { numRuns: RUNS_PER_ROUTE, ...(SEED === undefined ? {} : { seed: SEED }) });
    },
    Math.max(60_000, RUNS_PER_ROUTE * 500),
  );

  it('when the fuzzing is over, then the service still answers', async () => {
    expect((await http.get('/healthcheck')).body).toEqual({ status: 'OK' });
    expect((await http.get('/api/v1/products?limit=1').set('Authorization', `Bearer ${validToken}`)).status).toBe(200);
  });
});
