import type { DependencyContainer, InjectionToken } from 'tsyringe';
import { HandlerRegistry } from '../kernel/mediator.js';
import type { Handler, MessageType } from '../kernel/message.js';
import { CreateProduct, CreateProductHandler } from '../catalog/create-product.js';
import { RenameProduct, RenameProductHandler } from '../catalog/rename-product.js';
import { GetProductByName, GetProductByNameHandler, ListProducts, ListProductsHandler } from '../catalog/product-queries.js';
import { CreateAddress, CreateAddressHandler } from '../customers/create-address.js';
import { CreateUser, CreateUserHandler } from '../customers/create-user.js';
import { CreateOrder, CreateOrderHandler } from '../orders/create-order.js';
import { DeleteOrder, DeleteOrderHandler } from '../orders/delete-order.js';
import { GetOrder, GetOrderHandler, ListOrders, ListOrdersHandler } from '../orders/order-queries.js';
import { GetUserOrders, GetUserOrdersHandler } from '../orders/projection/user-orders-query.js';
import { ApproveOrder, RejectOrder, SagaReplyHandler } from '../orders/saga/saga-reply-commands.js';
import { TimeOutOrders, TimeOutOrdersHandler } from '../orders/saga/time-out-orders.js';
import { GetOrderHistory, GetOrderHistoryHandler, ListSagas, ListSagasHandler } from '../orders/saga/saga-queries.js';

/**
 * Every command and query of the service with its one handler: the single place where they are paired. Each
 * handler is built by the container (its dependencies are constructor parameters); `register` only compiles when
 * the handler class handles that very message.
 */
export function registerHandlers(container: DependencyContainer): HandlerRegistry {
  const registry = new HandlerRegistry();
  const pair = <M extends MessageType>(type: M, handler: InjectionToken<Handler<M>>) => registry.register(type, container.resolve(handler));
  pair(CreateProduct, CreateProductHandler);
  pair(RenameProduct, RenameProductHandler);
  pair(ListProducts, ListProductsHandler);
  pair(GetProductByName, GetProductByNameHandler);
  pair(CreateAddress, CreateAddressHandler);
  pair(CreateUser, CreateUserHandler);
  pair(CreateOrder, CreateOrderHandler);
  pair(DeleteOrder, DeleteOrderHandler);
  pair(GetOrder, GetOrderHandler);
  pair(ListOrders, ListOrdersHandler);
  pair(GetUserOrders, GetUserOrdersHandler);
  const sagaReplies = container.resolve(SagaReplyHandler);
  registry.register(ApproveOrder, sagaReplies).register(RejectOrder, sagaReplies);
  pair(TimeOutOrders, TimeOutOrdersHandler);
  pair(ListSagas, ListSagasHandler);
  pair(GetOrderHistory, GetOrderHistoryHandler);
  return registry;
}
