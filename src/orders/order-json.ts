import { z } from 'zod';
import { fromCents } from '../kernel/money.js';
import { listPageSchema, uuidAnswer } from '../kernel/schemas.js';
import { fullAddress, type AddressFields } from '../customers/address.js';

/** Order JSON with the Go service's field names and casing (CONTRACT.md); sagaStatus is an addition. */
export const orderJson = z
  .object({
    orderStatus: z.string().meta({ examples: ['New'] }),
    paymentMethod: z.string().meta({ examples: ['Card'] }),
    client: z.object({ ClientID: uuidAnswer, ClientName: z.string() }),
    address: z.string().meta({ description: '<country>, <city>, <streetName>, <buildingNumber> of the delivery address' }),
    OrderID: uuidAnswer,
    serialNumber: z.number().int().min(1),
    products: z.array(z.object({ productID: uuidAnswer, name: z.string(), actualPrice: z.number().meta({ description: 'price less discount, taken when the order was created' }) })),
    createdAt: z.iso.datetime(),
    totalPrice: z.number(),
    sagaStatus: z.string().meta({ description: 'Pending until the customer service approves, then Approved', examples: ['Approved'] }),
  })
  .meta({ id: 'Order' });
export type OrderJson = z.output<typeof orderJson>;

/** A page of orders: GET /orders and GET /orders/user/:userID. */
export const orderPage = listPageSchema('OrderPage', 'orders', orderJson);

/** The columns an order read needs; both the PostgreSQL reads and the projection rebuild load this shape. */
export interface OrderReadRow {
  id: string;
  serialNumber: bigint | number;
  paymentMethod: string;
  orderStatus: string;
  sagaStatus: string;
  totalCents: bigint | number;
  createdAt: Date;
  userId: string;
  user: { username: string };
  deliveryAddress: AddressFields;
  lines: { productId: string; productName: string; actualPriceCents: bigint | number }[];
}

/** Prisma `include` that loads an OrderReadRow. */
export const ORDER_READ_INCLUDE = {
  user: { select: { username: true } },
  deliveryAddress: { select: { buildingNumber: true, streetName: true, city: true, country: true } },
  lines: { orderBy: { position: 'asc' }, select: { productId: true, productName: true, actualPriceCents: true } },
} as const;

export function toOrderJson(row: OrderReadRow): OrderJson {
  return {
    orderStatus: row.orderStatus,
    paymentMethod: row.paymentMethod,
    client: { ClientID: row.userId, ClientName: row.user.username },
    address: fullAddress(row.deliveryAddress),
    OrderID: row.id,
    serialNumber: Number(row.serialNumber),
    products: row.lines.map((line) => ({ productID: line.productId, name: line.productName, actualPrice: fromCents(line.actualPriceCents) })),
    createdAt: row.createdAt.toISOString(),
    totalPrice: fromCents(row.totalCents),
    sagaStatus: row.sagaStatus,
  };
}
