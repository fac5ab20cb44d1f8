import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import type { Config } from '../config.js';
import { TOKENS } from '../tokens.js';
import type { Clock } from '../kernel/clock.js';
import { Mediator } from '../kernel/mediator.js';
import { loggingBehavior } from '../kernel/behaviors/logging.js';
import { metricsBehavior } from '../kernel/behaviors/metrics.js';
import { validationBehavior } from '../kernel/behaviors/validation.js';
import { transactionBehavior } from '../kernel/behaviors/transaction.js';
import { Database } from '../platform/database/database.js';
import { sql } from '../platform/database/sql.js';
import { createLogger, type Logger } from '../platform/observability/logger.js';
import { tracingBehavior } from '../platform/observability/tracing-behavior.js';
import { Metrics } from '../platform/observability/metrics.js';
import { createRedis, type RedisClient } from '../platform/cache/redis.js';
import { RabbitConnection } from '../platform/messaging/rabbitmq-connection.js';
import { declareTopology, mismatchSentence } from '../platform/messaging/topology.js';
import type { ReadinessChecks } from '../platform/http/readiness.js';
import type { RouteSpec } from '../platform/http/route-spec.js';
import { AccessTokens } from '../platform/auth/access-tokens.js';
import { OutboxSignal } from '../outbox/outbox-signal.js';
import { OutboxNotifier } from '../outbox/outbox-notifier.js';
import { OutboxRetentionJob } from '../outbox/outbox-maintenance.js';
import { InboxRetentionJob } from '../inbox/inbox-retention.js';
import { ProductRepository } from '../catalog/product-repository.js';
import { CustomerRepository } from '../customers/customer-repository.js';
import { OrderRepository } from '../orders/persistence/order-repository.js';
import { OrderReads } from '../orders/persistence/order-reads.js';
import { ProjectionStore } from '../orders/projection/projection-store.js';
import { ProjectionRepairStore } from '../orders/projection/projection-repair-store.js';
import { ProjectionRebuild } from '../orders/projection/projection-rebuild.js';
import { ProjectionRepair } from '../orders/projection/projection-repair.js';
import { OrderProjector } from '../orders/projection/order-projector.js';
import { SagaReplyConsumer } from '../orders/saga/saga-reply-consumer.js';
import { SagaTimeoutJob } from '../orders/saga/saga-timeout-job.js';
import { SagaGaugesJob, exportNoPendingSagas } from '../orders/saga/saga-gauges-job.js';
import { SagaReplyRetentionJob } from '../orders/saga/saga-reply-retention.js';
import { SagaReads } from '../orders/persistence/saga-reads.js';
import { SagaReplyLog } from '../orders/persistence/saga-reply-log.js';
import { sagaRoutes } from '../orders/http/saga-routes.js';
import { productRoutes } from '../catalog/product-routes.js';
import { customerRoutes } from '../customers/customer-routes.js';
import { orderRoutes } from '../orders/http/order-routes.js';
import { userOrderRoutes } from '../orders/projection/user-order-routes.js';
import { registerHandlers } from './handlers.js';

/** Everything one instance of the service is made of. Tests build several in one process. */
export interface Service {
  config: Config;
  container: DependencyContainer;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  redis: RedisClient;
  rabbit: RabbitConnection;
  mediator: Mediator;
  outboxSignal: OutboxSignal;
  /** Wakes relays in other processes after this process committed ready rows. */
  outboxNotifier: OutboxNotifier;
  routes: RouteSpec[];
  /** Verifies the API's bearer tokens; undefined when the API runs without authentication (config.ts says when). */
  accessTokens: AccessTokens | undefined;
  readiness: ReadinessChecks;
  /** A part of the service, built by the container (tools and tests use it; the code itself never does). */
  resolve<T>(token: InjectionToken<T>): T;
  /** Closes connections; roles must be stopped first. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  logger?: Logger;
  clock?: Clock;
  /** Off in tests that build many instances: default metrics add timers per registry. */
  defaultMetrics?: boolean;
  redisKeyPrefix?: string;
}

/**
 * The composition root: registers every dependency of one instance in a child container of its own (tests build
 * several in one process), and wires the mediator. Only this folder, main.ts and the tools and tests resolve from
 * the container; everything else gets its dependencies as constructor parameters.
 */
export function composeService(config: Config, options: ComposeOptions = {}): Service {
  const container = rootContainer.createChildContainer();
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? true });
  exportNoPendingSagas(metrics);
  const database = new Database({
    url: config.DATABASE_URL,
    poolMode: config.DATABASE_POOL_MODE,
    poolSize: config.DATABASE_POOL_SIZE,
    timeoutMs: config.DEPENDENCY_TIMEOUT,
    logger,
    onPoolWait: (seconds) => metrics.databasePoolWait.observe(seconds),
  });
  metrics.observeDatabasePool(() => database.poolUse());
  const redis = createRedis({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    timeoutMs: config.DEPENDENCY_TIMEOUT,
    logger,
    keyPrefix: options.redisKeyPrefix ?? config.REDIS_KEY_PREFIX,
  });
  const rabbit = new RabbitConnection(config.AMQP_URL, logger, config.DEPENDENCY_TIMEOUT);
  // First hook on every (re)connection, so every later hook (publisher, consumers) finds the topology in place.
  // Queues of the other type refuse the broker: running on them would leave them as they are, unreplicated or
  // unconverted, and only `npm run topology -- migrate` moves their messages without losing one.
  void rabbit.onConnect(async (model) => {
    const outcome = await declareTopology(model, config.DEPENDENCY_TIMEOUT, config.QUEUE_TYPE);
    if (!outcome.ok) rabbit.refuse(mismatchSentence(outcome.mismatch));
  });
  const outboxSignal = new OutboxSignal();
  const outboxNotifier = new OutboxNotifier(config.DATABASE_LISTEN_URL, logger, config.DEPENDENCY_TIMEOUT);
  outboxNotifier.attach(outboxSignal);

  const values: [symbol, unknown][] = [
    [TOKENS.Config, config],
    [TOKENS.Logger, logger],
    [TOKENS.Metrics, metrics],
    [TOKENS.Clock, options.clock ?? (() => new Date())],
    [TOKENS.Database, database],
    [TOKENS.Redis, redis],
    [TOKENS.OutboxSignal, outboxSignal],
  ];
  for (const [token, value] of values) container.register(token, { useValue: value });
  registerParts(container);

  const mediator = new Mediator(registerHandlers(container), {
    // Order matters and is pinned by test/unit/mediator.test.ts: a span around everything (so the log line has its
    // id), log everything (even invalid input), time it, validate before opening a unit of work, keep the unit as
    // short as the handler. Queries need no unit.
    commands: [tracingBehavior(), loggingBehavior(logger), metricsBehavior(metrics.messageDuration), validationBehavior(), transactionBehavior((kind, work) => database.run(kind, work))],
    queries: [tracingBehavior(), loggingBehavior(logger), metricsBehavior(metrics.messageDuration), validationBehavior()],
  });
  container.register(TOKENS.Mediator, { useValue: mediator });

  const accessTokens = createAccessTokens(config, logger);
  return {
    config,
    container,
    logger,
    metrics,
    database,
    redis,
    rabbit,
    mediator,
    outboxSignal,
    outboxNotifier,
    routes: [...productRoutes(mediator), ...customerRoutes(mediator), ...userOrderRoutes(mediator), ...orderRoutes(mediator), ...sagaRoutes(mediator)],
    accessTokens,
    readiness: readinessChecks(database, redis, rabbit, accessTokens),
    resolve: (token) => container.resolve(token),
    async close() {
      accessTokens?.stop();
      await outboxNotifier.close();
      await rabbit.close();
      redis.disconnect();
      await database.close();
    },
  };
}

/** The classes of the service, each one instance per service (they hold no request state). */
function registerParts(container: DependencyContainer): void {
  container.registerSingleton(TOKENS.ProductRepository, ProductRepository);
  container.registerSingleton(TOKENS.CustomerRepository, CustomerRepository);
  container.registerSingleton(TOKENS.OrderRepository, OrderRepository);
  container.registerSingleton(TOKENS.OrderReads, OrderReads);
  container.registerSingleton(TOKENS.SagaReads, SagaReads);
  container.registerSingleton(TOKENS.SagaReplyLog, SagaReplyLog);
  container.registerSingleton(TOKENS.ProjectionStore, ProjectionStore);
  container.registerSingleton(TOKENS.ProjectionRepairStore, ProjectionRepairStore);
  container.registerSingleton(TOKENS.ProjectionRebuild, ProjectionRebuild);
  container.registerSingleton(TOKENS.ProjectionRepair, ProjectionRepair);
  // Role `consumers` starts every Consumer, role `scheduler` every ScheduledJob: adding one is adding a line here.
  container.register(TOKENS.Consumer, { useClass: SagaReplyConsumer });
  container.register(TOKENS.Consumer, { useClass: OrderProjector });
  container.register(TOKENS.ScheduledJob, { useClass: OutboxRetentionJob });
  container.register(TOKENS.ScheduledJob, { useClass: SagaTimeoutJob });
  container.register(TOKENS.ScheduledJob, { useClass: InboxRetentionJob });
  container.register(TOKENS.ScheduledJob, { useClass: SagaReplyRetentionJob });
  container.register(TOKENS.ScheduledJob, { useClass: SagaGaugesJob });
}

function readinessChecks(database: Database, redis: RedisClient, rabbit: RabbitConnection, accessTokens: AccessTokens | undefined): ReadinessChecks {
  return {
    postgres: () => database.read(sql`SELECT 1`),
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
