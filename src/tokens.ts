/** Dependency-injection tokens. Registrations live in composition.ts only. */
export const TOKENS = {
  Config: Symbol('Config'),
  Logger: Symbol('Logger'),
  Metrics: Symbol('Metrics'),
  Database: Symbol('Database'),
  Redis: Symbol('Redis'),
  Rabbit: Symbol('RabbitConnection'),
  Clock: Symbol('Clock'),
  OutboxSignal: Symbol('OutboxSignal'),
  OutboxWriter: Symbol('OutboxWriter'),
  ProductRepository: Symbol('ProductRepository'),
  OrderRepository: Symbol('OrderRepository'),
  Mediator: Symbol('Mediator'),
} as const;
