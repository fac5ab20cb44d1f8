import { randomBytes } from 'node:crypto';
import type supertest from 'supertest';
import { inject } from 'vitest';
import type { Express } from 'express';
import { parseConfig, type Config } from '../../src/config.js';
import { composeService, type Service } from '../../src/composition/service.js';
import { createServiceApp } from '../../src/composition/http-role.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { createTestDatabase } from './database.js';
import { createTestVhost } from './rabbitmq.js';
import { checkedHttp } from './http-validation.js';
import { deleteKeysWithPrefix, testRedisSettings } from './test-redis.js';

export interface TestService {
  service: Service;
  config: Config;
  app: Express;
  /** supertest on `app`; every answer is checked against the /openapi.json `app` serves (http-validation.ts). */
  http: ReturnType<typeof supertest>;
  databaseUrl: string;
  amqpUrl: string;
  /** The RabbitMQ virtual host of this file (vhost of amqpUrl). */
  vhost: string;
  redisPrefix: string;
  /** Builds another instance on the same database, vhost and Redis prefix (e.g. with other settings). */
  sibling(env?: Record<string, string>): TestService;
  close(): Promise<void>;
}

/**
 * One service instance on its own database, vhost and Redis key prefix. Roles are not started: a test starts
 * the ones it exercises. LOG_LEVEL=debug in the environment shows the service's logs.
 */
export async function startTestService(env: Record<string, string> = {}, options: { defaultMetrics?: boolean; logger?: import('../../src/platform/observability/logger.js').Logger } = {}): Promise<TestService> {
  const database = await createTestDatabase();
  const vhost = await createTestVhost();
  const redisPrefix = `os_test:${randomBytes(4).toString('hex')}:`;
  const databaseSettings = throughPooler(database.url);
  const build = (extra: Record<string, string>, owner: boolean): TestService => {
    const config = parseConfig({
      ...databaseSettings,
      AMQP_URL: vhost.url,
      ...testRedisSettings(),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      DATABASE_POOL_SIZE: '5',
      ...env,
      ...extra,
    });
    const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
    const service = composeService(config, { logger, defaultMetrics: options.defaultMetrics ?? false, redisKeyPrefix: redisPrefix });
    const app = createServiceApp(service);
    return {
      service,
      config,
      app,
      http: checkedHttp(app),
      databaseUrl: database.url,
      amqpUrl: vhost.url,
      vhost: vhost.name,
      redisPrefix,
      sibling: (more = {}) => build({ ...extra, ...more }, false),
      async close() {
        await service.close();
        if (!owner) return;
        await deleteKeysWithPrefix(redisPrefix);
        await vhost.delete();
        await database.drop();
      },
    };
  };
  return build({}, true);
}

/**
 * The database settings of a test service: the database itself, or, in the PgBouncer run
 * (vitest.pgbouncer.config.ts), the same database through that PgBouncer in transaction mode, with LISTEN direct.
 */
function throughPooler(directUrl: string): Record<string, string> {
  const pooler = inject('pgbouncerUrl');
  if (!pooler) return { DATABASE_URL: directUrl };
  const url = new URL(directUrl);
  url.host = new URL(pooler).host;
  return { DATABASE_URL: url.toString(), DATABASE_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: directUrl };
}
