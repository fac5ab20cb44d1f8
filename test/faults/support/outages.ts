import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { adminClient } from './environment.js';

// The servers are shared by the whole machine: these stop them for everyone, hence `make faults` runs alone.

const exec = promisify(execFile);
const run = (file: string, args: string[], timeout = 60_000) => exec(file, args, { timeout }).then(({ stdout }) => stdout);

async function until(what: string, check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what} within ${deadlineMs} ms`);
    await sleep(200);
  }
}

// RabbitMQ --------------------------------------------------------------------------------------------------

export async function stopBroker(): Promise<void> {
  await run('rabbitmqctl', ['stop_app']);
}

/** Starts the RabbitMQ application (a no-op when it runs) and waits until it accepts AMQP connections. */
export async function startBroker(): Promise<void> {
  await run('rabbitmqctl', ['start_app'], 120_000);
  await run('rabbitmqctl', ['await_startup'], 120_000);
}

/** Stops the whole node, not only its application, so that its ports (Erlang's too) are free for another. */
export async function stopBrokerNode(): Promise<void> {
  await run('rabbitmqctl', ['stop'], 120_000);
  await until('RabbitMQ did not stop', async () => !(await run('epmd', ['-names']).catch(() => '')).includes('name rabbit at'), 60_000);
}

/** Starts the machine's node the way it was started (`rabbitmq-server -detached`); waits for its application. */
export async function startBrokerNode(): Promise<void> {
  await run('rabbitmq-server', ['-detached']);
  await until('RabbitMQ did not start', () => run('rabbitmqctl', ['-q', 'await_startup'], 30_000).then(() => true), 120_000);
}

// Redis -----------------------------------------------------------------------------------------------------

const redisCli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', '6379', ...args], 10_000);

/** Stops Redis without saving: it comes back empty, as after losing the machine. */
export async function stopRedis(): Promise<void> {
  await redisCli('shutdown', 'nosave').catch(() => undefined); // the connection closes under the command
  await until('Redis did not stop', async () => !(await redisUp()), 10_000);
}

export async function redisUp(): Promise<boolean> {
  return (await redisCli('ping').catch(() => '')).includes('PONG');
}

/** Starts Redis as .ci/run does when it is not answering; waits for PONG. */
export async function ensureRedis(): Promise<void> {
  if (await redisUp()) return;
  await run('redis-server', [
    '--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no',
    '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log',
  ]);
  await until('Redis did not answer PONG', redisUp, 30_000);
}

// PostgreSQL ------------------------------------------------------------------------------------------------

function postgresVersion(): string {
  return readdirSync('/etc/postgresql').sort().at(-1)!;
}

// stop and restart use the "fast" mode: open transactions roll back and clients are disconnected.
const pgctl = (action: 'start' | 'stop' | 'restart') => run('pg_ctlcluster', ['--skip-systemctl-redirect', postgresVersion(), 'main', action], 120_000);

export async function postgresUp(): Promise<boolean> {
  return run('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'], 5_000).then(
    () => true,
    () => false,
  );
}

/** Ends every connection to the database (the service's pools, listeners, notifiers), the checks' too. */
export async function terminateConnections(databaseName: string): Promise<number> {
  const admin = await adminClient();
  try {
    const { rows } = await admin.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [databaseName],
    );
    return rows.filter((row) => row.ended).length;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export async function stopPostgres(): Promise<void> {
  await pgctl('stop');
}

/** Starts the server when it is not answering; waits until it accepts connections. */
export async function ensurePostgres(): Promise<void> {
  if (await postgresUp()) return;
  await pgctl('start').catch(() => undefined); // "already running" while it is still starting up
  await until('PostgreSQL did not accept connections', postgresUp, 60_000);
}
