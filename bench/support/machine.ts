/** The machine and servers a benchmark report was measured on. */
import { cpus, release, totalmem } from 'node:os';
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
    ['cpu', cpus()[0]?.model ?? '?'],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['kernel', `Linux ${release()}`],
    ['node', process.version],
    ['PostgreSQL', `${rows[0]!.server_version} (${settings.rows.map((r) => `${r.name}=${r.setting}${r.unit ?? ''}`).join(', ')})`],
    ['Redis', redisVersion],
    ['RabbitMQ', rabbit],
    ['service under test', `${serviceRuntimeLabel()}, built from the working tree into ${DIST_DIR}`],
  ];
}
