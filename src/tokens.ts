/**
 * Dependency-injection tokens: every dependency is registered under one of these in src/composition/service.ts
 * only, and every constructor parameter names its token with @inject.
 */
export const TOKENS = {
  Config: Symbol('Config'),
  Logger: Symbol('Logger'),
  Metrics: Symbol('Metrics'),
  Clock: Symbol('Clock'),
  Database: Symbol('Database'),
  Redis: Symbol('Redis'),
  Mediator: Symbol('Mediator'),
  OutboxSignal: Symbol('OutboxSignal'),
  ProductRepository: Symbol('ProductRepository'),
  CustomerRepository: Symbol('CustomerRepository'),
  OrderRepository: Symbol('OrderRepository'),
  OrderReads: Symbol('OrderReads'),
  SagaReads: Symbol('SagaReads'),
  SagaReplyLog: Symbol('SagaReplyLog'),
  ProjectionStore: Symbol('ProjectionStore'),
  ProjectionRepairStore: Symbol('ProjectionRepairStore'),
  ProjectionRebuild: Symbol('ProjectionRebuild'),
  ProjectionRepair: Symbol('ProjectionRepair'),
  /** Every consumer of role `consumers` (one registration each). */
  Consumer: Symbol('Consumer'),
  /** Every job of role `scheduler` (one registration each). */
  ScheduledJob: Symbol('ScheduledJob'),
} as const;
