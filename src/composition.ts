import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { TOKENS } from './tokens.js';
import { Mediator } from './kernel/mediator.js';
import { loggingBehavior } from './kernel/behaviors/logging.js';
import { metricsBehavior } from './kernel/behaviors/metrics.js';
import { validationBehavior } from './kernel/behaviors/validation.js';
import { transactionBehavior } from './kernel/behaviors/transaction.js';
import { errorTranslationBehavior } from './kernel/behaviors/error-translation.js';
import { isDatabaseUnavailable, toUnavailable } from './platform/database/database-errors.js';
import type pg from 'pg';
import { createDatabaseOnPool, createPool, type Database } from './platform/database/prisma.js';
import { createStatementRunner, createTransactionRunner } from './platform/database/transaction-runner.js';
import { createLogger, type Logger } from './platform/observability/logger.js';
import { Metrics } from './platform/observability/metrics.js';
import { createRedis } from './platform/cache/redis.js';
import { RabbitConnection } from './platform/messaging/rabbitmq-connection.js';
import { declareTopology } from './platform/messaging/topology.js';
import type { ReadinessChecks } from './platform/http/readiness.js';
import { AccessTokens } from './platform/auth/access-tokens.js';
import type { RouteSpec } from './platform/http/route-spec.js';
import { OutboxSignal } from './outbox/outbox-signal.js';
import { OutboxNotifier } from './outbox/outbox-notifier.js';
import { OutboxWriter } from './outbox/outbox-writer.js';
import { PrismaProductRepository } from './catalog/prisma-product-repository.js';
import { PrismaOrderRepository } from './orders/persistence/prisma-order-repository.js';
import { ALL_MESSAGES, messageHandlers } from './messages.js';
import { productRoutes } from './catalog/product-routes.js';
import { customerRoutes } from './customers/customer-routes.js';
import { orderRoutes } from './orders/http/order-routes.js';
import { userOrderRoutes } from './orders/projection/user-order-routes.js';

/** Everything one instance of the service is made of. Tests build several in one process. */
export interface Service {
  config: Config;
  container: DependencyContainer;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  /** The connection pool under `database`, for the relay's transaction (src/outbox/outbox-claim.ts says why). */
  pool: pg.Pool;
  redis: Redis;
  rabbit: RabbitConnection;
  mediator: Mediator;
  outboxSignal: OutboxSignal;
  /** Wakes relays in other processes after this process committed ready rows. */
  outboxNotifier: OutboxNotifier;
  routes: RouteSpec[];
  /** Verifies the API's bearer tokens; undefined when the API runs without authentication (config.ts says when). */
  accessTokens: AccessTokens | undefined;
  readiness: ReadinessChecks;
  /** Closes connections; roles must be stopped first. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  logger?: Logger;
  clock?: () => Date;
  /** Off in tests that build many instances: default metrics add timers per registry. */
  defaultMetrics?: boolean;
  redisKeyPrefix?: string;
}

/** The composition root: registers every dependency in a child container of its own and wires the mediator. */
export function composeService(config: Config, options: ComposeOptions = {}): Service {
  const container = rootContainer.createChildContainer();
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? true });
  const pool = createPool({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, timeoutMs: config.DEPENDENCY_TIMEOUT });
  const database = createDatabaseOnPool(pool);
  const redis = createRedis(config.REDIS_URL, { timeoutMs: config.DEPENDENCY_TIMEOUT, logger, keyPrefix: options.redisKeyPrefix ?? config.REDIS_KEY_PREFIX });
  const rabbit = new RabbitConnection(config.AMQP_URL, logger, config.DEPENDENCY_TIMEOUT);
  const clock = options.clock ?? (() => new Date());
  // First hook on every (re)connection, so every later hook (publisher, consumers) finds the topology in place.
  void rabbit.onConnect((model) => declareTopology(model, config.DEPENDENCY_TIMEOUT));

  container.register(TOKENS.Config, { useValue: config });
  container.register(TOKENS.Logger, { useValue: logger });
  container.register(TOKENS.Metrics, { useValue: metrics });
  container.register(TOKENS.Database, { useValue: database });
  container.register(TOKENS.Redis, { useValue: redis });
  container.register(TOKENS.Rabbit, { useValue: rabbit });
  container.register(TOKENS.Clock, { useValue: clock });
  const outboxSignal = new OutboxSignal();
  const outboxNotifier = new OutboxNotifier(config.DATABASE_URL, logger, config.DEPENDENCY_TIMEOUT);
  outboxNotifier.attach(outboxSignal);
  container.register(TOKENS.OutboxSignal, { useValue: outboxSignal });
  container.registerSingleton(TOKENS.OutboxWriter, OutboxWriter);
  container.registerSingleton(TOKENS.ProductRepository, PrismaProductRepository);
  container.registerSingleton(TOKENS.OrderRepository, PrismaOrderRepository);

  const mediator = new Mediator({
    messages: ALL_MESSAGES,
    handlers: messageHandlers({
      config,
      database,
      clock,
      metrics,
      redis,
      logger,
      products: container.resolve<PrismaProductRepository>(TOKENS.ProductRepository),
      orders: container.resolve<PrismaOrderRepository>(TOKENS.OrderRepository),
    }),
    // Order matters and is pinned by test/unit/mediator.test.ts: log everything (even invalid input), time it,
    // see dependency failures as 503s, validate before opening a transaction, keep the transaction as short as the handler.
    behaviors: [
      loggingBehavior(logger),
      metricsBehavior(metrics.messageDuration),
      errorTranslationBehavior((error) => (isDatabaseUnavailable(error) ? toUnavailable() : undefined)),
      validationBehavior(),
      transactionBehavior({
        transaction: createTransactionRunner(database, { timeoutMs: config.DEPENDENCY_TIMEOUT }),
        statement: createStatementRunner(database, { timeoutMs: config.DEPENDENCY_TIMEOUT }),
      }),
    ],
  });
  container.register(TOKENS.Mediator, { useValue: mediator });

  const accessTokens = createAccessTokens(config, logger);
  const readiness: ReadinessChecks = {
    postgres: () => database.$queryRaw`SELECT 1`,
    redis: () => redis.ping(),
    rabbitmq: async () => {
      if (!rabbit.isConnected) throw new Error('rabbitmq not connected');
    },
    // Only with authentication on: without the identity service's keys, every authenticated route answers 503.
    ...(accessTokens && {
      auth: async () => {
        if (!accessTokens.keys.ready) throw new Error('identity service keys not loaded');
      },
    }),
  };

  return {
    config,
    container,
    logger,
    metrics,
    database,
    pool,
    redis,
    rabbit,
    mediator,
    outboxSignal,
    outboxNotifier,
    routes: [...productRoutes(mediator), ...customerRoutes(mediator), ...userOrderRoutes(mediator), ...orderRoutes(mediator)],
    accessTokens,
    readiness,
    async close() {
      accessTokens?.stop();
      await outboxNotifier.close();
      await rabbit.close();
      redis.disconnect();
      await database.$disconnect();
    },
  };
}

/** With AUTH_JWKS_URL and the http role: the token verifier, its keys fetched from now on (in the background). */
function createAccessTokens(config: Config, logger: Logger): AccessTokens | undefined {
  if (!config.AUTH_JWKS_URL || !config.ROLES.includes('http')) return undefined;
  const tokens = new AccessTokens({
    url: config.AUTH_JWKS_URL,
    issuer: config.AUTH_ISSUER!,
    audience: config.AUTH_AUDIENCE!,
    timeoutMs: config.DEPENDENCY_TIMEOUT,
    cooldownMs: config.AUTH_JWKS_COOLDOWN,
    refreshMs: config.AUTH_JWKS_REFRESH,
    logger,
  });
  tokens.start();
  return tokens;
}
