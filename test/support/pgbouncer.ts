import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface RunningPgBouncer {
  /** postgresql://user@127.0.0.1:<port>: append /<database>; every database of the server is reachable. */
  baseUrl: string;
  /** The URL of the same database through this PgBouncer. */
  urlFor(directUrl: string): string;
  /** What PgBouncer has carried so far to the databases of the tests (its admin console's SHOW STATS). */
  traffic(): Promise<{ transactions: number; statements: number }>;
  stop(): Promise<void>;
}

/** Debian's PgBouncer, or undefined when it is not installed (.ci/run installs it). */
export function pgbouncerBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) {
    if (spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * A PgBouncer in transaction pooling mode in front of the test PostgreSQL server, on a free loopback port, run as a
 * child process of this one and stopped by its pid. PgBouncer refuses to run as root: as root it switches to the
 * postgres user (-u), which then owns its files.
 */
export async function startPgBouncer(serverUrl: string): Promise<RunningPgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed: apt-get install pgbouncer (.ci/run does)');
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  const port = await freePort();
  const directory = await mkdtemp(path.join(tmpdir(), 'os-pgbouncer-'));
  const ini = path.join(directory, 'pgbouncer.ini');
  await writeFile(path.join(directory, 'userlist.txt'), `"${user}" ""\n`);
  await writeFile(ini, configuration({ directory, port, user, serverHost: server.hostname, serverPort: server.port || '5432' }));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await giveTo(directory, 'postgres');
  const child = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const baseUrl = `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}`;
  await waitUntilAnswering(`${baseUrl}/postgres`, child, () => stderr);
  return {
    baseUrl,
    urlFor(directUrl) {
      const through = new URL(directUrl);
      through.host = `127.0.0.1:${port}`;
      return through.toString();
    },
    async traffic() {
      await sleep(1_100);
      const admin = new pg.Client({ connectionString: `${baseUrl}/pgbouncer` });
      await admin.connect();
      try {
        // The admin console speaks the simple protocol only.
        const { rows } = await admin.query<{ database: string; total_xact_count: string; total_query_count: string }>({
          text: 'SHOW STATS',
          queryMode: 'simple',
        } as pg.QueryConfig);
        const served = rows.filter((row) => row.database !== 'pgbouncer' && row.database !== 'postgres');
        return {
          transactions: served.reduce((sum, row) => sum + Number(row.total_xact_count), 0),
          statements: served.reduce((sum, row) => sum + Number(row.total_query_count), 0),
        };
      } finally {
        await admin.end();
      }
    },
    async stop() {
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function configuration(options: { directory: string; port: number; user: string; serverHost: string; serverPort: string }): string {
  return [
    '[databases]',
    // Every database of the server under its own name: each test file's database is reachable.
    `* = host=${options.serverHost} port=${options.serverPort}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${options.port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(options.directory, 'userlist.txt')}`,
    `admin_users = ${options.user}`,
    // SHOW STATS totals are refreshed every stats_period seconds.
    'stats_period = 1',
    'pool_mode = transaction',
    'default_pool_size = 10',
    'max_client_conn = 1000',
    `logfile = ${path.join(options.directory, 'pgbouncer.log')}`,
    `pidfile = ${path.join(options.directory, 'pgbouncer.pid')}`,
    '',
  ].join('\n');
}

async function giveTo(directory: string, userName: string): Promise<void> {
  const id = spawnSync('id', ['-u', userName], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', userName], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error(`PgBouncer will not run as root, and there is no ${userName} user to run it as`);
  const [uid, gid] = [Number(id.stdout), Number(group.stdout)];
  await chmod(directory, 0o700);
  for (const name of ['', 'pgbouncer.ini', 'userlist.txt']) await chown(path.join(directory, name), uid, gid);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilAnswering(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${stderr()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new Error(`pgbouncer did not answer within 15 s: ${(error as Error).message} ${stderr()}`);
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}
