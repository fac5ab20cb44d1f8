import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineCommand } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { ConflictError, NotFoundError } from '../kernel/errors.js';
import { uuid } from '../kernel/schemas.js';
import { requireTransaction } from '../platform/database/transaction-context.js';
import { fullAddress } from '../customers/address.js';
import type { PrismaProductRepository } from '../catalog/prisma-product-repository.js';
import { Order } from './domain/order.js';
import { PAYMENT_METHODS, type PaymentMethod } from './domain/order-status.js';
import type { PrismaOrderRepository } from './persistence/prisma-order-repository.js';

const paymentMethod = z
  .string()
  .transform((value) => PAYMENT_METHODS.find((method) => method.toLowerCase() === value.toLowerCase()) ?? value)
  .pipe(z.enum(PAYMENT_METHODS, { error: `must be one of ${PAYMENT_METHODS.join(', ')}` }));

export const CreateOrder = defineCommand(
  'CreateOrder',
  z.object({
    orderID: uuid,
    paymentMethod,
    productsIDs: z
      .array(uuid)
      .min(1, 'must name at least one product')
      .max(1000)
      .transform((ids) => [...new Set(ids)]),
    userID: uuid,
    deliveryAddress: uuid.meta({ description: 'the id of an existing address' }),
  }),
);
type CreateOrderPayload = z.output<typeof CreateOrder.schema>;

/**
 * Creates an order and its saga request. Idempotent by orderID: the same request again changes nothing;
 * a different request under an existing orderID is a conflict.
 */
export function createOrderHandler(
  orders: PrismaOrderRepository,
  products: PrismaProductRepository,
  clock: () => Date,
  sagaTimeoutMs: () => number,
): Handler<typeof CreateOrder> {
  return async (command) => {
    const fingerprint = requestFingerprint(command);
    if (await isRepeatOf(orders, command.orderID, fingerprint)) return;

    const { client, deliveryAddress, lineProducts } = await loadParticipants(products, command);
    const order = Order.create({
      id: command.orderID,
      serialNumber: await orders.nextSerialNumber(),
      client,
      deliveryAddress,
      paymentMethod: command.paymentMethod as PaymentMethod,
      products: lineProducts,
      createdAt: clock(),
      sagaTimeoutMs: sagaTimeoutMs(),
    });
    // Lost a race with the same orderID: the other request's order stands, and ours must match it.
    if (!(await orders.insertNew(order, fingerprint))) await isRepeatOf(orders, command.orderID, fingerprint);
  };
}

/** True when an order with this id exists and came from the same request; a conflict when it came from another. */
async function isRepeatOf(orders: PrismaOrderRepository, orderId: string, fingerprint: string): Promise<boolean> {
  const existing = await orders.findFingerprint(orderId);
  if (existing === undefined) return false;
  if (existing !== fingerprint) throw new ConflictError('an order with this id already exists with a different body', orderId);
  return true;
}

async function loadParticipants(products: PrismaProductRepository, command: CreateOrderPayload) {
  const tx = requireTransaction();
  const user = await tx.user.findUnique({ where: { id: command.userID }, select: { username: true } });
  const address = await tx.address.findUnique({ where: { id: command.deliveryAddress } });
  const found = await products.findManyByIds(command.productsIDs);
  const byId = new Map(found.map((product) => [product.id, product]));
  const missing = [
    ...(user ? [] : [`user ${command.userID}`]),
    ...(address ? [] : [`address ${command.deliveryAddress}`]),
    ...command.productsIDs.filter((id) => !byId.has(id)).map((id) => `product ${id}`),
  ];
  if (missing.length > 0 || !user || !address) {
    throw new NotFoundError(`not found: ${missing.join(', ')}`, missing.map((entry) => entry.split(' ')[1]).join(','));
  }
  return {
    client: { id: command.userID, username: user.username },
    deliveryAddress: { id: command.deliveryAddress, fullAddress: fullAddress(address) },
    lineProducts: command.productsIDs.map((id) => {
      const product = byId.get(id)!;
      return { id, name: product.name, priceCents: product.priceCents, discount: product.discount };
    }),
  };
}

/** What makes two create requests "the same order": everything the client chose, product order aside. */
function requestFingerprint(command: CreateOrderPayload): string {
  const canonical = JSON.stringify([command.paymentMethod, command.userID, command.deliveryAddress, [...command.productsIDs].sort()]);
  return createHash('sha256').update(canonical).digest('hex');
}
