import fc from 'fast-check';
import { casedKey, freshUuid, HEADER_TEXT, json, nearValidBody, ref, text, upperText, validBody, wrongValue, type Field, type Ref, type Value } from './fuzz-values.js';
import { credentials, type Credentials } from './fuzz-credentials.js';

/** A path segment: already percent-encoded text, or an id from the catalogue. */
export type Segment = string | Ref;

export type Body = { kind: 'json'; value: Value } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'huge'; size: number };

export interface FuzzRequest {
  route: string;
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** Under /api/v1 unless `absolute`. */
  segments: Segment[];
  absolute?: boolean;
  trailingSlash: boolean;
  query: string;
  headers: [string, string][];
  body?: Body;
  /** Gzip the rendered body (and say so in Content-Encoding). */
  gzip?: boolean;
  /** Built to be valid by the contract: it may meet a 404 or 409, never a 400. */
  valid: boolean;
  credentials: Credentials;
}

// ---- bodies ----------------------------------------------------------------------------------------------

const price = fc.integer({ min: 1, max: 1_000_000_000 }).map((cents) => json(cents / 100));
/** Text longer than any name should be, in scripts that do not compress (as an index entry would be). */
const longText = fc.string({ unit: 'grapheme', minLength: 300, maxLength: 3000 }).map((t) => json(`L${t}`));
const idOr = (pool: Ref['ref']) => fc.oneof({ weight: 3, arbitrary: ref(pool) as fc.Arbitrary<Value> }, freshUuid.map(json));

export const FIELDS = {
  product: [
    { key: 'productID', valid: fc.oneof({ weight: 4, arbitrary: freshUuid.map(json) }, ref('product')) },
    { key: 'name', valid: fc.oneof({ weight: 4, arbitrary: text().map((t) => json(`Fuzz ${t}`)) }, ref('productName')), wrong: fc.oneof(fc.constantFrom(json('x'.repeat(3000)), json('   ')), longText) },
    { key: 'description', valid: fc.oneof(fc.string().map(json), text(200).map(json)) },
    { key: 'price', valid: price, wrong: fc.constantFrom(json(0), json(-5), json(1.234), json(0.001), json('10'), { raw: '1e400' }) },
    { key: 'discount', valid: fc.integer({ min: 0, max: 99 }).map(json), wrong: fc.constantFrom(json(100), json(-1), json(1.5), json('10'), json(1e9)) },
  ],
  rename: [{ key: 'productName', valid: fc.oneof({ weight: 4, arbitrary: upperText.map(json) }, ref('upperProductName')), wrong: fc.oneof(fc.constantFrom(json('lower'), json(' '), json('1abc'), json('Ab'.repeat(2000))), longText) }],
  address: [
    { key: 'addressID', valid: fc.oneof({ weight: 4, arbitrary: freshUuid.map(json) }, ref('address')) },
    { key: 'buildingNumber', valid: fc.integer({ min: 1, max: 100_000 }).map(json), wrong: fc.constantFrom(json(0), json(-1), json(1.5), json('44'), json(2147483648), json(1e15)) },
    { key: 'streetName', valid: text().map(json) },
    { key: 'city', valid: text().map(json) },
    { key: 'country', valid: text().map(json) },
  ],
  user: [
    { key: 'userID', valid: fc.oneof({ weight: 4, arbitrary: freshUuid.map(json) }, ref('user')) },
    { key: 'username', valid: text().map(json), wrong: fc.constantFrom(json(''), json(' '), json('a\u0000b')) },
    { key: 'addressID', valid: idOr('address') },
  ],
  order: [
    { key: 'orderID', valid: fc.oneof({ weight: 4, arbitrary: freshUuid.map(json) }, ref('order')) },
    { key: 'paymentMethod', valid: fc.constantFrom('Online', 'Card', 'Cash').chain(casedKey).map(json), wrong: fc.constantFrom(json('Bitcoin'), json(''), json('Card ')) },
    {
      key: 'productsIDs',
      valid: fc.array(fc.oneof({ weight: 9, arbitrary: ref('product') as fc.Arbitrary<Value> }, freshUuid.map(json)), { minLength: 1, maxLength: 5 }).map((list) => ({ list })),
      wrong: fc.oneof(
        fc.constantFrom(json([]), json('abc'), json([null]), json(['nope'])),
        fc.array(freshUuid, { minLength: 1001, maxLength: 1001 }).map(json),
        fc.tuple(ref('product'), wrongValue).map(([good, bad]): Value => ({ list: [good, bad] })),
      ),
    },
    { key: 'userID', valid: idOr('user') },
    { key: 'deliveryAddress', valid: idOr('address') },
  ],
  deleteOrder: [{ key: 'orderID', valid: fc.oneof(ref('approvedOrder'), ref('pendingOrder'), ref('order'), freshUuid.map(json)) }],
} satisfies Record<string, Field[]>;

const MALFORMED_JSON = fc.oneof(
  fc.constantFrom('{', '}', '{"a":', '{"a":1,}', "{'a':1}", '{a:1}', 'nul', 'tru', '[1,2', '{"a":1}}', '{"a":"\\x"}', '\u0000', '{"a":1e}', '{"a":01}', '{"a":NaN}', ' '),
  fc.string({ maxLength: 60 }),
  fc.json().chain((full) => fc.nat({ max: Math.max(0, full.length - 1) }).map((cut) => full.slice(0, cut))),
);

/** Bodies that are no request at all: other JSON values, random bytes, broken JSON, and sizes near or over the 1 MB limit. */
export const garbageBody: fc.Arbitrary<Body> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v): Body => ({ kind: 'json', value: json(v) })),
  fc.uint8Array({ maxLength: 200 }).map((bytes): Body => ({ kind: 'bytes', bytes })),
  MALFORMED_JSON.map((t): Body => ({ kind: 'text', text: t })),
  wrongValue.map((value): Body => ({ kind: 'json', value })),
  fc.constantFrom<Body>({ kind: 'huge', size: 900_000 }, { kind: 'huge', size: 1_100_000 }, { kind: 'text', text: '' }),
);

/** For one route's fields: mostly valid and near-valid bodies, some garbage. */
function bodies(fields: Field[]): fc.Arbitrary<{ body: Body; valid: boolean }> {
  return fc.oneof(
    { weight: 4, arbitrary: validBody(fields).map((value) => ({ body: { kind: 'json', value } as Body, valid: true })) },
    { weight: 4, arbitrary: nearValidBody(fields).map((value) => ({ body: { kind: 'json', value } as Body, valid: false })) },
    { weight: 2, arbitrary: garbageBody.map((body) => ({ body, valid: false })) },
  );
}

/** The value one time in eight, otherwise null. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

// ---- paths, queries, headers -------------------------------------------------------------------------------

function encode(raw: string): string {
  try {
    return encodeURIComponent(raw);
  } catch {
    return encodeURIComponent(raw.replace(/[\ud800-\udfff]/g, '?'));
  }
}

/** Any path parameter: ids of the catalogue, random UUIDs, text of any script encoded, broken percent-encoding. */
const randomParam: fc.Arbitrary<Segment> = fc.oneof(
  freshUuid,
  fc.uuid().map((id) => id.replaceAll('-', '')),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encode),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(encode),
  fc.constantFrom('%', '%%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', '%00', 'a%00b', '%2e%2e', '..', '.', '%2F', 'a%2Fb', '%20', '+', '%u0041', 'null', '0', '-1', '%F0%9F%98%80'),
  fc.integer({ min: 200, max: 3000 }).map((n) => 'Z'.repeat(n)),
).filter((segment) => segment !== ''); // an empty parameter would address the list route instead

function param(pool: Ref['ref']): fc.Arbitrary<{ segment: Segment; valid: boolean }> {
  return fc.oneof(
    { weight: 3, arbitrary: ref(pool).map((segment) => ({ segment: segment as Segment, valid: true })) },
    freshUuid.map((segment) => ({ segment: segment as Segment, valid: true })),
    { weight: 2, arbitrary: randomParam.map((segment) => ({ segment, valid: false })) },
  );
}

const LIST_KEYS = ['limit', 'offset', 'order'];
const validQuery = fc
  .record({ limit: fc.option(fc.integer({ min: 1, max: 1000 })), offset: fc.option(fc.nat({ max: 50 })), order: fc.option(fc.constantFrom('asc', 'desc')) })
  .map((q) => Object.entries(q).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join('&'));
const oddQueryValue = fc.oneof(
  fc.constantFrom('', '-1', '0', '1.5', '1e2', '1E3', '0x10', '1_000', '+5', ' 5', '5 ', '1001', '99999999999', '999999999', '1000000000', 'asc', 'DESC', 'Asc', 'sideways', 'null', '%', '%zz', '%00', 'asc%00'),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 20 }).map(encode),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map(encode),
);
const oddQuery = fc
  .array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...LIST_KEYS) }, fc.constantFrom('LIMIT', 'Order', 'limit[]', 'offset[0]', '__proto__', '', 'x')), fc.option(oddQueryValue)), { maxLength: 5 })
  .map((pairs) => pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&'));
const listQuery = fc.oneof(validQuery.map((query) => ({ query, valid: true })), oddQuery.map((query) => ({ query, valid: false })));

const requestId = fc.oneof(fc.uuid(), HEADER_TEXT, fc.constantFrom('', ' ', 'a', 'x'.repeat(128), 'x'.repeat(129), 'é', 'id with spaces'), fc.integer({ min: 1000, max: 6000 }).map((n) => 'r'.repeat(n)));
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON;charset=UTF-8', 'application/json; charset="utf-8"'];
const OTHER_TYPES = ['text/plain', 'application/vnd.api+json', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/json; charset=utf-7', 'application/json; charset=bogus', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/html', '', ';;', 'application/json; charset', '*/*'];

const headers = (valid: boolean) =>
  fc
    .record({
      requestId: fc.option(requestId, { freq: 2 }),
      contentType: fc.option(valid ? fc.constantFrom(...JSON_TYPES) : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...JSON_TYPES) }, fc.constantFrom(...OTHER_TYPES)), { freq: 4 }),
      contentEncoding: valid ? fc.constant(null) : rarely(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus', 'GZIP')),
    })
    .map(({ requestId: id, contentType, contentEncoding }) => {
      const list: [string, string][] = [];
      if (id !== null) list.push(['X-Request-Id', id]);
      if (contentType !== null) list.push(['Content-Type', contentType]);
      if (contentEncoding !== null) list.push(['Content-Encoding', contentEncoding]);
      return list;
    });

// ---- one arbitrary per route -------------------------------------------------------------------------------

type Method = FuzzRequest['method'];
interface Shape {
  segments: fc.Arbitrary<{ segments: Segment[]; valid: boolean }>;
  body?: Field[];
  query?: boolean;
}

function request(route: string, method: Method, shape: Shape): fc.Arbitrary<FuzzRequest> {
  const body = shape.body ? bodies(shape.body) : rarely(garbageBody).map((b) => ({ body: b ?? undefined, valid: b === null }));
  const query = shape.query ? listQuery : fc.oneof({ weight: 5, arbitrary: fc.constant({ query: '', valid: true }) }, oddQuery.map((q) => ({ query: q, valid: true })));
  return fc.tuple(shape.segments, body, query, fc.boolean(), fc.boolean(), credentials).chain(([path, b, q, trailingSlash, gzip, creds]) => {
    const valid = path.valid && b.valid && q.valid;
    return headers(valid).map(
      (hs): FuzzRequest => ({
        route,
        method,
        segments: path.segments,
        trailingSlash,
        query: q.query,
        headers: hs,
        ...(b.body ? { body: b.body } : {}),
        ...(valid && b.body && gzip && !hs.some(([h]) => h === 'Content-Encoding') ? { gzip: true } : {}),
        valid,
        credentials: creds,
      }),
    );
  });
}

const fixed = (...segments: string[]) => fc.constant({ segments: segments as Segment[], valid: true });
const withParam = (before: string[], pool: Ref['ref'], after: string[] = []) =>
  param(pool).map(({ segment, valid }) => ({ segments: [...before, segment, ...after], valid }));

/** Every route of the contract, each with the arbitrary of its requests. */
export const ROUTES: [string, fc.Arbitrary<FuzzRequest>][] = [
  ['POST /products', request('POST /products', 'post', { segments: fixed('products'), body: FIELDS.product })],
  ['PUT /products/:productID/productName', request('PUT /products/:productID/productName', 'put', { segments: withParam(['products'], 'product', ['productName']), body: FIELDS.rename })],
  ['GET /products', request('GET /products', 'get', { segments: fixed('products'), query: true })],
  ['GET /products/:productName', request('GET /products/:productName', 'get', { segments: withParam(['products'], 'productName') })],
  ['POST /addresses', request('POST /addresses', 'post', { segments: fc.constantFrom('addresses', 'address').map((s) => ({ segments: [s], valid: true })), body: FIELDS.address })],
  ['POST /users', request('POST /users', 'post', { segments: fixed('users'), body: FIELDS.user })],
  ['POST /orders', request('POST /orders', 'post', { segments: fixed('orders'), body: FIELDS.order })],
  ['DELETE /orders (body)', request('DELETE /orders (body)', 'delete', { segments: fixed('orders'), body: FIELDS.deleteOrder })],
  ['DELETE /orders/:orderID', request('DELETE /orders/:orderID', 'delete', { segments: withParam(['orders'], 'order') })],
  ['GET /orders', request('GET /orders', 'get', { segments: fixed('orders'), query: true })],
  ['GET /orders/:orderID', request('GET /orders/:orderID', 'get', { segments: withParam(['orders'], 'order') })],
  ['GET /orders/user/:userID', request('GET /orders/user/:userID', 'get', { segments: withParam(['orders', 'user'], 'user'), query: true })],
  [
    'unknown routes',
    fc
      .record({
        method: fc.constantFrom<Method>('get', 'post', 'put', 'delete', 'patch'),
        first: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }).map(encode), fc.constantFrom('product', 'order', 'user', 'customers', 'v2', 'healthcheck')),
        rest: fc.array(randomParam, { maxLength: 2 }),
        absolute: fc.boolean(),
        body: fc.option(garbageBody),
        headers: headers(false),
        credentials,
      })
      .filter(({ first, absolute }) => !(absolute ? /^(healthcheck|readyz|metrics|openapi\.json|asyncapi\.json)$/i : /^(products|orders|addresses|address|users)$/i).test(decodeSafe(first)))
      .map(
        ({ method, first, rest, absolute, body, headers: hs, credentials: creds }): FuzzRequest => ({
          route: 'unknown routes',
          method,
          segments: [first, ...rest],
          absolute,
          trailingSlash: false,
          query: '',
          headers: hs,
          ...(body ? { body } : {}),
          valid: false,
          credentials: creds,
        }),
      ),
  ],
];

function decodeSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
