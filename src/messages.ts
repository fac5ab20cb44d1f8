import type { Handler } from './kernel/mediator.js';
import type { MessageType } from './kernel/message.js';
import type { Config } from './config.js';
import type { Database } from './platform/database/prisma.js';
import type { PrismaProductRepository } from './catalog/prisma-product-repository.js';
import type { PrismaOrderRepository } from './orders/persistence/prisma-order-repository.js';
import type { Metrics } from './platform/observability/metrics.js';
import type { Logger } from './platform/observability/logger.js';
import type { Redis } from 'ioredis';
import { CreateProduct, createProductHandler } from './catalog/create-product.js';
import { RenameProduct, renameProductHandler } from './catalog/rename-product.js';
import { GetProductByName, ListProducts, getProductByNameHandler, listProductsHandler } from './catalog/product-queries.js';
import { CreateAddress, createAddressHandler } from './customers/create-address.js';
import { CreateUser, createUserHandler } from './customers/create-user.js';
import { CreateOrder, createOrderHandler } from './orders/create-order.js';
import { DeleteOrder, deleteOrderHandler } from './orders/delete-order.js';
import { GetOrder, ListOrders, getOrderHandler, listOrdersHandler } from './orders/order-queries.js';
import { ApproveOrder, approveOrderHandler } from './orders/saga/approve-order.js';
import { RejectOrder, rejectOrderHandler } from './orders/saga/reject-order.js';
import { GetUserOrders, getUserOrdersHandler } from './orders/projection/user-orders-query.js';
import { TimeOutOrders, timeOutOrdersHandler } from './orders/saga/time-out-orders.js';

/** The catalogue of messages the application sends. The mediator refuses to start unless each has exactly one handler. */
export const ALL_MESSAGES: readonly MessageType[] = [
  CreateProduct,
  RenameProduct,
  ListProducts,
  GetProductByName,
  CreateAddress,
  CreateUser,
  CreateOrder,
  DeleteOrder,
  GetOrder,
  ListOrders,
  GetUserOrders,
  ApproveOrder,
  RejectOrder,
  TimeOutOrders,
];

export interface HandlerDependencies {
  config: Config;
  database: Database;
  products: PrismaProductRepository;
  orders: PrismaOrderRepository;
  clock: () => Date;
  metrics: Metrics;
  redis: Redis;
  logger: Logger;
}

/** Every command and query of the service with its one handler: the single place where they are paired. */
export function messageHandlers(deps: HandlerDependencies): [MessageType, Handler<never>][] {
  const { database, products, orders, clock, config, metrics, redis, logger } = deps;
  const pairs: [MessageType, Handler<never>][] = [
    [CreateProduct, createProductHandler(products, clock) as Handler<never>],
    [RenameProduct, renameProductHandler(products) as Handler<never>],
    [ListProducts, listProductsHandler(database) as Handler<never>],
    [GetProductByName, getProductByNameHandler(database) as Handler<never>],
    [CreateAddress, createAddressHandler() as Handler<never>],
    [CreateUser, createUserHandler() as Handler<never>],
    [CreateOrder, createOrderHandler(orders, clock, () => config.SAGA_TIMEOUT) as Handler<never>],
    [DeleteOrder, deleteOrderHandler(orders, clock) as Handler<never>],
    [GetOrder, getOrderHandler(database) as Handler<never>],
    [ListOrders, listOrdersHandler(database) as Handler<never>],
    [GetUserOrders, getUserOrdersHandler({ database, redis, metrics, logger }) as Handler<never>],
    [ApproveOrder, approveOrderHandler({ orders, clock, metrics, logger }) as Handler<never>],
    [RejectOrder, rejectOrderHandler({ orders, clock, metrics, logger }) as Handler<never>],
    [TimeOutOrders, timeOutOrdersHandler(orders, clock, metrics) as Handler<never>],
  ];
  return pairs;
}
