import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

// /openapi.json as a client team's tools take it: redocly's recommended rules (redocly.yaml says what is off and
// why), servers from the configuration, and each operation's statuses from its route and the layers before it.

interface Operation {
  operationId: string;
  summary: string;
  responses: Record<string, { $ref?: string }>;
}
let t: TestService;
let doc: { servers: { url: string }[]; paths: Record<string, Record<string, Operation>> };
beforeAll(async () => {
  t = await startTestService();
  doc = (await t.http.get('/openapi.json')).body;
});
afterAll(() => t.close());

/** `redocly lint` of a document, as its JSON report: totals and problems. */
async function redoclyLint(document: object): Promise<{ totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'));
  try {
    await writeFile(join(dir, 'openapi.json'), JSON.stringify(document));
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
    // Exits 1 when it finds errors; the report on stdout says which either way.
    const { stdout } = await promisify(execFile)('node_modules/.bin/redocly', ['lint', join(dir, 'openapi.json'), '--config', 'redocly.yaml', '--format', 'json'], { env }).catch(
      (error: { stdout: string }) => error,
    );
    return JSON.parse(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the OpenAPI document', () => {
  it('when redocly lints it with the recommended rules, then it reports no error and no warning', async () => {
    const report = await redoclyLint(doc);
    expect(report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('when a route is documented, then its statuses are its own plus those of the layers in front of it', () => {
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses);
    expect(statuses('/api/v1/orders', 'post')).toEqual(['204', '400', '401', '403', '404', '408', '409', '413', '429', '500', '503']);
    expect(statuses('/api/v1/products', 'get')).toEqual(['200', '400', '401', '408', '413', '429', '500', '503']);
    expect(statuses('/readyz', 'get')).toEqual(['200', '400', '408', '413', '500', '503']);
    expect(doc.paths['/api/v1/orders']!.post!.responses['401']).toEqual({ $ref: '#/components/responses/Unauthorized' });
  });

  it('when an older spelling of a route is documented, then its operation has a name of its own', () => {
    expect(doc.paths['/api/v1/addresses']!.post!.operationId).toBe('createAddress');
    expect(doc.paths['/api/v1/address']!.post!.operationId).toBe('createAddressAtAddress');
  });

  it('when PUBLIC_URL is set, then it is the server; otherwise HOST and PORT are', async () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: `http://127.0.0.1:${t.config.PORT}` })]);
    const proxied = t.sibling({ PUBLIC_URL: 'https://orders.example.org/' });
    try {
      expect((await proxied.http.get('/openapi.json')).body.servers).toEqual([expect.objectContaining({ url: 'https://orders.example.org' })]);
    } finally {
      await proxied.close();
    }
  });
});
