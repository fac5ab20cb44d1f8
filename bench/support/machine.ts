/** The machine and servers a benchmark report was measured on. */
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { rabbitmqctl } from './bench-env.js';
import { DIST_DIR, serviceRuntimeLabel } from './main-process.js';

export async function describeMachine(): Promise<[string, string][]> {
  const sql = new pg.Client({ connectionString: process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await sql.connect();
  const { rows } = await sql.query<{ server_version: string }>('SHOW server_version');
  const settings = await sql.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections', 'wal_level')`,
  );
  await sql.end();
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  redis.disconnect();
  const rabbit = (await rabbitmqctl('version').catch(() => '?')).trim();
  return [
    ['nproc', String(cpus().length)],
    ['cpu', cpuModel()],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the start)`],
    ['load average at the start (1/5/15 min)', loadavg().map((value) => value.toFixed(2)).join(' ')],
    ['kernel', `Linux ${release()}`],
    ['node', process.version],
    ['PostgreSQL', `${rows[0]!.server_version} (${settings.rows.map((r) => `${r.name}=${r.setting}${r.unit ?? ''}`).join(', ')})`],
    ['Redis', redisVersion],
    ['RabbitMQ', rabbit],
    ['service under test', `${serviceRuntimeLabel()}, built from the working tree into ${DIST_DIR}`],
  ];
}

/** /proc/cpuinfo's model name, clock and bogomips of the first CPU (os.cpus() shortens some model names). */
function cpuModel(): string {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(info)?.[1]?.trim();
  return [field('model name') ?? cpus()[0]?.model ?? '?', field('cpu MHz') && `${field('cpu MHz')} MHz`, field('bogomips') && `bogomips ${field('bogomips')}`].filter(Boolean).join(', ');
}
