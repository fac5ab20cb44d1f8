import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { adminClient, freePorts } from './support/environment.js';
import { accepts, freeServerPort, MakeRun, servers } from './support/make-run.js';
import { ensureRedis, redisUp, startBrokerNode, stopBrokerNode, stopRedis } from './support/outages.js';

// `make run` where Redis and RabbitMQ do not answer: scripts/servers.sh starts them, the service comes up ready
// and `scripts/servers.sh stop` stops what the script started. Twice: on ports where nothing runs (the start
// path of a fresh machine, without stopping anything shared), and on the machine's own ports after stopping its
// Redis and RabbitMQ for everyone (hence `make faults` runs its files one at a time), which run again after.

interface Ports {
  redis: number;
  amqp: number;
}

async function makeRunStartsRedisAndRabbitMq(ports: Ports): Promise<void> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'servers-faults-'));
  const database = `os_test_${inject('testRunId')}_servers_${randomBytes(3).toString('hex')}`;
  const [httpPort] = await freePorts(1);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    PORT: String(httpPort),
    DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${database}`,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    AMQP_URL: `amqp://guest:guest@127.0.0.1:${ports.amqp}`,
    // The test's own list of what the script started, so that its `stop` touches nothing of anyone else's.
    SERVERS_STATE_DIR: stateDir,
    LOG_LEVEL: 'warn',
  };
  const run = new MakeRun(env);
  let stopped = '';
  try {
    expect(await run.ready(httpPort!, 300_000)).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up', rabbitmq: 'up' } });
    expect(run.output).toContain(`servers: Redis 127.0.0.1:${ports.redis}: started redis-server`);
    expect(run.output).toContain(`servers: RabbitMQ 127.0.0.1:${ports.amqp}: started node order-service-${ports.amqp}@localhost`);
    // PostgreSQL answered: nothing done, nothing said.
    expect(run.output).not.toContain('servers: PostgreSQL');
    // The management page the README's saga-by-hand walk-through uses: RabbitMQ's API, not the service's, so a bare
    // fetch (the service's /readyz answers above are held to /openapi.json by MakeRun.ready).
    const overview = await fetch(`http://127.0.0.1:${ports.amqp + 10_000}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    expect(overview.status).toBe(200);
  } finally {
    await run.stop();
    stopped = await servers('stop', env);
    rmSync(stateDir, { recursive: true, force: true });
    await dropDatabase(database);
  }
  expect(stopped).toContain(`servers: Redis on port ${ports.redis}: stopped redis-server`);
  expect(stopped).toContain(`servers: RabbitMQ on port ${ports.amqp}: stopped node order-service-${ports.amqp}@localhost`);
  expect(await accepts(ports.redis)).toBe(false);
  expect(await accepts(ports.amqp)).toBe(false);
}

async function dropDatabase(name: string): Promise<void> {
  const admin = await adminClient();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

describe('make run brings up the servers it needs', () => {
  it('when nothing answers on the ports of REDIS_URL and AMQP_URL, then make run starts Redis and RabbitMQ there, the service is ready, and servers.sh stop stops them', async () => {
    const redis = await freeServerPort();
    await makeRunStartsRedisAndRabbitMq({ redis, amqp: await freeServerPort([redis]) });
  });

  it("when the machine's Redis and RabbitMQ are stopped, then make run starts them on 6379 and 5672, the service is ready, and afterwards the machine's own run again", async () => {
    const redisWasUp = await redisUp();
    const brokerWasUp = await accepts(5672);
    try {
      if (redisWasUp) await stopRedis();
      if (brokerWasUp) await stopBrokerNode();
      await makeRunStartsRedisAndRabbitMq({ redis: 6379, amqp: 5672 });
    } finally {
      if (redisWasUp) await ensureRedis();
      if (brokerWasUp) await startBrokerNode();
    }
  });
});
