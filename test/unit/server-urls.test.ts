import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

// scripts/server-urls.mjs tells scripts/servers.sh which servers the service will use. It repeats loadConfig's
// resolution in plain JavaScript (to stay fast), so these cases run both, each in a fresh process in a directory
// of its own, and expect the same three URLs.

const exec = promisify(execFile);
const root = process.cwd();
const SERVER_URLS = path.join(root, 'scripts/server-urls.mjs');
const CONFIG = pathToFileURL(path.join(root, 'src/config.ts')).href;

interface Case {
  files?: { '.env'?: string; '.env.example'?: string };
  env?: Record<string, string>;
}

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** A directory holding the case's files, and an environment holding only its variables. */
function prepare(setup: Case): { cwd: string; env: Record<string, string> } {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'server-urls-'));
  directories.push(directory);
  for (const [name, text] of Object.entries(setup.files ?? {})) writeFileSync(path.join(directory, name), text);
  return { cwd: directory, env: { PATH: process.env.PATH ?? '', ...setup.env } };
}

/** `server.part` -> value, as scripts/servers.sh reads them. */
async function scriptParts(where: { cwd: string; env: Record<string, string> }): Promise<Map<string, string>> {
  const { stdout } = await exec(process.execPath, [SERVER_URLS], where);
  return new Map(stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

/** The service's own loadConfig, run from the case's directory as `npm start` runs from the project's. */
async function serviceUrls({ cwd, env }: { cwd: string; env: Record<string, string> }): Promise<string[]> {
  const code = `process.chdir(${JSON.stringify(cwd)}); const { loadConfig } = await import(${JSON.stringify(CONFIG)});
    const c = loadConfig(); console.log(JSON.stringify([c.DATABASE_URL, c.REDIS_URL, c.AMQP_URL]));`;
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env });
  return JSON.parse(stdout) as string[];
}

const EXAMPLE = 'DATABASE_URL=postgresql://postgres@example-file:5432/db\nREDIS_URL=redis://example-file:6379\n';

describe('scripts/server-urls.mjs', () => {
  const cases: [string, Case][] = [
    ['when nothing sets them, then both use the service defaults', {}],
    ['when only .env.example sets them, then both use it', { files: { '.env.example': EXAMPLE } }],
    ['when .env sets one too, then .env wins over .env.example', { files: { '.env.example': EXAMPLE, '.env': 'REDIS_URL="redis://env-file:6390"\n' } }],
    ['when the environment sets one, then it wins over both files', { files: { '.env': 'AMQP_URL=amqp://env-file' }, env: { AMQP_URL: 'amqp://u:p@environment:5690/vh' } }],
    ['when the environment sets one to empty, then both take the default, not the file', { files: { '.env': 'REDIS_URL=redis://env-file' }, env: { REDIS_URL: '' } }],
    ['when .env uses export and comments, then both read it the same', { files: { '.env': 'export DATABASE_URL=postgresql://x@exported:5440/db # local\n' } }],
  ];
  for (const [name, setup] of cases) {
    it(name, async () => {
      const where = prepare(setup);
      const parts = await scriptParts(where);
      expect(['postgres.url', 'redis.url', 'rabbitmq.url'].map((key) => parts.get(key))).toEqual(await serviceUrls(where));
    });
  }

  it('when a URL leaves out its port or uses IPv6 and escapes, then the parts are what its client uses', async () => {
    const parts = await scriptParts(prepare({ env: { REDIS_URL: 'redis://:p%40ss@[::1]', AMQP_URL: 'amqps://guest:guest@localhost/orders' } }));
    expect(Object.fromEntries([...parts].filter(([key]) => !key.startsWith('postgres')))).toEqual({
      'redis.variable': 'REDIS_URL',
      'redis.url': 'redis://:p%40ss@[::1]',
      'redis.scheme': 'redis',
      'redis.host': '::1',
      'redis.port': '6379',
      'redis.user': '',
      'redis.password': 'p@ss',
      'redis.path': '',
      'rabbitmq.variable': 'AMQP_URL',
      'rabbitmq.url': 'amqps://guest:guest@localhost/orders',
      'rabbitmq.scheme': 'amqps',
      'rabbitmq.host': 'localhost',
      'rabbitmq.port': '5671',
      'rabbitmq.user': 'guest',
      'rabbitmq.password': 'guest',
      'rabbitmq.path': 'orders',
    });
  });
});
