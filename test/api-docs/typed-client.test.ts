import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'order-service-openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { checkedFetch } from '../support/http-validation.js';
import { ApproveOrder } from '../../src/orders/saga/saga-reply-commands.js';
import type { OrderJson } from '../../src/orders/order-json.js';

// What a client team does with /openapi.json: generate types with openapi-typescript, write code against them
// with openapi-fetch, type-check it, run it. If the document and the service disagree, tsc or the run fails.

/** Inside the repository, so that the client's imports (openapi-fetch, @types/node) resolve; git-ignored. */
const BUILDS = join('test', 'api-docs', '.generated');

let t: TestService;
let server: Server;
let origin: string;
let build: string;
beforeAll(async () => {
  t = await startTestService();
  server = createServer(t.app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await mkdir(BUILDS, { recursive: true });
  build = await mkdtemp(join(BUILDS, 'client-'));
  await generateClient();
});
afterAll(async () => {
  server?.close();
  await t?.close();
  if (build) await rm(build, { recursive: true, force: true });
});

type ReadmeFlow = (
  baseUrl: string,
  fetch: (input: Request) => Promise<Response>,
  ids: Record<'productID' | 'addressID' | 'userID' | 'orderID', string>,
  approve: (orderID: string) => Promise<void>,
) => Promise<{ created: OrderJson; listed: { orders: OrderJson[] } }>;

/** Generates openapi.d.ts from the served document and copies the client's code beside it. */
async function generateClient(): Promise<void> {
  const document = await (await fetch(`${origin}/openapi.json`)).text();
  await writeFile(join(build, 'openapi.d.ts'), astToString(await openapiTS(document)));
  await copyFile(join('test', 'api-docs', 'client', 'readme-flow.ts'), join(build, 'readme-flow.ts'));
  const tsconfig = {
    compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true, noEmit: true, types: ['node'] },
    files: ['openapi.d.ts', 'readme-flow.ts'],
  };
  await writeFile(join(build, 'tsconfig.json'), JSON.stringify(tsconfig));
}

/** tsc on the generated types and the client code; its diagnostics, '' when it compiles. */
async function typeCheck(): Promise<string> {
  return promisify(execFile)('node_modules/.bin/tsc', ['-p', join(build, 'tsconfig.json')]).then(
    () => '',
    (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
  );
}

describe('a client generated from /openapi.json', () => {
  it('when its types are generated and the README flow is written against them, then tsc accepts both', async () => {
    expect(await typeCheck()).toBe('');
  });

  it('when the README flow runs through openapi-fetch, then each step succeeds and reads back what was sent', async () => {
    // The client's own types exist only in the build: the test sees its result as plain JSON.
    const flow = (await import(pathToFileURL(join(process.cwd(), build, 'readme-flow.ts')).href)) as { readmeFlow: ReadmeFlow };
    const ids = { productID: randomUUID(), addressID: randomUUID(), userID: randomUUID(), orderID: randomUUID() };
    const approve = async (orderID: string) => void (await t.service.mediator.send(ApproveOrder, { orderID }, 'typed-client'));
    const { created, listed } = await flow.readmeFlow(origin, checkedFetch(origin), ids, approve);
    expect(created).toMatchObject({ OrderID: ids.orderID, sagaStatus: 'Pending', totalPrice: 90, address: 'Russia, Moscow, Pushkina, 44' });
    expect(created.products).toEqual([{ productID: ids.productID, name: 'Phone', actualPrice: 90 }]);
    expect(listed).toMatchObject({ count: 1, total: 1, limit: 10, offset: 0, order: 'desc' });
    expect(listed.orders.map((order) => [order.OrderID, order.sagaStatus])).toEqual([[ids.orderID, 'Approved']]);
  });
});
