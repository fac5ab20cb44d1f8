import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { promisify } from 'node:util';
import pg from 'pg';
import { parseConfig, type Config } from '../../src/config.js';
import { ensureDatabase, migrate } from '../../src/platform/database/migrate.js';
import { benchAuthOn, startBenchAuth } from './bench-auth.js';
import { rabbitmqctlCommand } from '../../test/support/rabbitmq-admin.js';
import { cleanUpOnInterrupt } from './interrupt.js';
import { deleteKeys } from './projection-watch.js';

const run = promisify(execFile);
const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const BROKER_URL = process.env.BENCH_AMQP_BASE ?? 'amqp://guest:guest@127.0.0.1:5672';
/** The Redis every benchmark's service and floor write to, each under its environment's key prefix. */
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The machine and runtime a figure was measured on, printed first by every benchmark. */
export function printMachine(title: string, settings: Record<string, unknown>): void {
  const cpu = cpus();
  console.log(`# ${title}`);
  console.log(`machine: ${cpu.length} cpu (nproc), ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(`settings: ${Object.entries({ ...settings, service_tokens: benchAuthOn() ? 'checked (BENCH_AUTH=1)' : 'not checked (BENCH_AUTH unset)' }).map(([key, value]) => `${key}=${value}`).join(', ')}`);
  printLoad('load before');
}

/** The 1-minute load average: other work on a shared machine shows up here, and in the figures. */
export function printLoad(when: string): void {
  console.log(`${when}: load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
}

export interface BenchEnvironment {
  databaseUrl: string;
  amqpUrl: string;
  vhost: string;
  /** `<vhost>:`, the prefix of the Redis keys written in this environment (cleanup() deletes them). */
  redisPrefix: string;
  config(env?: Record<string, string>): Config;
  /** A plain pg client for seeding and ANALYZE. */
  sql(): Promise<pg.Client>;
  cleanup(): Promise<void>;
}

/**
 * A fresh migrated database bench_<random> and a RabbitMQ vhost of the same name; cleanup() removes both, and the
 * Redis keys under its prefix, also when the benchmark is interrupted. With
 * BENCH_AUTH=1, also the identity service that the service processes spawned afterwards check tokens against.
 */
export async function createBenchEnvironment(): Promise<BenchEnvironment> {
  await startBenchAuth();
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const databaseUrl = `${SERVER_URL}/${name}`;
  await ensureDatabase(databaseUrl);
  try {
    await migrate(databaseUrl);
    await rabbitmqctl('add_vhost', name);
    await rabbitmqctl('set_permissions', '--vhost', name, 'guest', '.*', '.*', '.*');
  } catch (error) {
    // Half made (the broker down, say): leave no database or vhost behind.
    await rabbitmqctl('delete_vhost', name).catch(() => undefined);
    await dropDatabase(name);
    throw error;
  }
  const amqpUrl = `${BROKER_URL}/${encodeURIComponent(name)}`;
  const redisPrefix = `${name}:`;
  const remove = async () => {
    await deleteKeys(BENCH_REDIS_URL, redisPrefix).catch((error) => console.error(`bench: could not delete the keys ${redisPrefix}*:`, String(error)));
    await rabbitmqctl('delete_vhost', name).catch(() => undefined);
    await dropDatabase(name);
  };
  const forget = cleanUpOnInterrupt(remove);
  return {
    databaseUrl,
    amqpUrl,
    vhost: name,
    redisPrefix,
    config: (env = {}) =>
      parseConfig({ DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl, LOG_LEVEL: 'warn', PORT: '0', ...env }),
    async sql() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      return client;
    },
    async cleanup() {
      forget();
      await remove();
    },
  };
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.end();
}

/** rabbitmqctl on the broker of BENCH_AMQP_BASE: the node scripts/servers.sh started for it, as the tests find it. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const command = rabbitmqctlCommand(BROKER_URL);
  const { stdout } = await run(command.file, [...command.args, ...args], { timeout: 30_000, env: command.env ?? process.env });
  return stdout;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const round = (value: number, digits = 1) => Number(value.toFixed(digits));
