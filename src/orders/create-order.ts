import { createHash } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import type { Config } from '../config.js';
import type { Clock } from '../kernel/clock.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../kernel/message.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../kernel/errors.js';
import { mayActForUser, SCOPES } from '../kernel/actor.js';
import { MAX_ORDER_PRODUCTS, uuid } from '../kernel/schemas.js';
import { fullAddress } from '../customers/address.js';
import { Order } from './domain/order.js';
import { PAYMENT_METHODS, type PaymentMethod } from './domain/order-status.js';
import { OrderRepository, type CreationContext } from './persistence/order-repository.js';

const paymentMethod = z
  .string()
  .transform((value) => PAYMENT_METHODS.find((method) => method.toLowerCase() === value.toLowerCase()) ?? value)
  .pipe(z.enum(PAYMENT_METHODS, { error: `must be one of ${PAYMENT_METHODS.join(', ')}` }))
  // What a client should send; any case is accepted (the JSON Schema of a transform's input is only "a string").
  .meta({ enum: [...PAYMENT_METHODS], description: 'matched in any case' });

export const CreateOrder = defineCommand(
  'CreateOrder',
  z.object({
    orderID: uuid,
    paymentMethod,
    productsIDs: z
      .array(uuid)
      .min(1, 'must name at least one product')
      .max(MAX_ORDER_PRODUCTS, `must name at most ${MAX_ORDER_PRODUCTS} products`)
      .transform((ids) => [...new Set(ids)]),
    userID: uuid,
    deliveryAddress: uuid.meta({ description: 'the id of an existing address' }),
  }).meta({ id: 'NewOrder' }),
  // Reads its context, then writes the order, its lines and its outbox rows in one statement (insertNew).
  { unitOfWork: 'statement' },
);
type CreateOrderPayload = PayloadOf<typeof CreateOrder>;

/**
 * Creates an order and its saga request. Idempotent by orderID: the same request again changes nothing;
 * a different request under an existing orderID is a conflict.
 */
@injectable()
export class CreateOrderHandler implements Handler<typeof CreateOrder> {
  constructor(
    @inject(TOKENS.OrderRepository) private readonly orders: OrderRepository,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Config) private readonly config: Config,
  ) {}

  async handle(command: CreateOrderPayload, { actor, unit }: CommandContext): Promise<void> {
    if (!mayActForUser(actor, command.userID)) {
      throw new ForbiddenError('an order can only be created for the user of the token (or with orders:admin)', SCOPES.ordersAdmin, command.userID);
    }
    const fingerprint = requestFingerprint(command);
    const context = await this.orders.loadCreationContext(unit, {
      orderId: command.orderID,
      userId: command.userID,
      addressId: command.deliveryAddress,
      productIds: command.productsIDs,
    });
    if (isRepeatOf(context.existingFingerprint, command.orderID, fingerprint)) return;

    const order = Order.create({
      id: command.orderID,
      serialNumber: context.serialNumber,
      ...participants(context, command),
      paymentMethod: command.paymentMethod as PaymentMethod,
      createdAt: this.clock(),
      sagaTimeoutMs: this.config.SAGA_TIMEOUT,
    });
    // Lost a race with the same orderID: the other request's order stands, and ours must match it.
    if (!(await this.orders.insertNew(unit, order, fingerprint))) {
      isRepeatOf(await this.orders.findFingerprint(unit, command.orderID), command.orderID, fingerprint);
    }
  }
}

/** True when an order with this id exists and came from the same request; a conflict when it came from another. */
function isRepeatOf(existing: string | undefined, orderId: string, fingerprint: string): boolean {
  if (existing === undefined) return false;
  if (existing !== fingerprint) throw new ConflictError('an order with this id already exists with a different body', orderId);
  return true;
}

/** The client, address and products of the order, or a 404 naming every id that does not exist. */
function participants(context: CreationContext, command: CreateOrderPayload) {
  const byId = new Map(context.products.map((product) => [product.id, product]));
  const missing = [
    ...(context.username === undefined ? [`user ${command.userID}`] : []),
    ...(context.address === undefined ? [`address ${command.deliveryAddress}`] : []),
    ...command.productsIDs.filter((id) => !byId.has(id)).map((id) => `product ${id}`),
  ];
  if (missing.length > 0 || context.username === undefined || context.address === undefined) {
    throw new NotFoundError(`not found: ${missing.join(', ')}`, missing.map((entry) => entry.split(' ')[1]).join(','));
  }
  return {
    client: { id: command.userID, username: context.username },
    deliveryAddress: { id: command.deliveryAddress, fullAddress: fullAddress(context.address) },
    products: command.productsIDs.map((id) => {
      const product = byId.get(id)!;
      return { id, name: product.name, priceCents: Number(product.priceCents), discount: product.discount };
    }),
  };
}

/** What makes two create requests "the same order": everything the client chose, product order aside. */
function requestFingerprint(command: CreateOrderPayload): string {
  const canonical = JSON.stringify([command.paymentMethod, command.userID, command.deliveryAddress, [...command.productsIDs].sort()]);
  return createHash('sha256').update(canonical).digest('hex');
}
