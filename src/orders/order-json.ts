import { z } from 'zod';
import { fromCents } from '../kernel/money.js';
import { fullAddress, type AddressFields } from '../customers/address.js';

/** Order JSON with the Go service's field names and casing (CONTRACT.md); sagaStatus is an addition. */
export const orderJson = z
  .object({
    orderStatus: z.string(),
    paymentMethod: z.string(),
    client: z.object({ ClientID: z.string(), ClientName: z.string() }),
    address: z.string(),
    OrderID: z.string(),
    serialNumber: z.number().int(),
    products: z.array(z.object({ productID: z.string(), name: z.string(), actualPrice: z.number() })),
    createdAt: z.string(),
    totalPrice: z.number(),
    sagaStatus: z.string(),
  })
  .meta({ id: 'Order' });
export type OrderJson = z.output<typeof orderJson>;

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
