import { z } from 'zod';
import { listPageSchema, uuidAnswer } from '../kernel/schemas.js';

/**
 * The one place where the Order JSON of the contract is written: field names, casing and key order exactly as the
 * Go service answered (sagaStatus is an addition). The PostgreSQL reads, the projection's events and the
 * projection's rebuild all build it here, which is what keeps `GET /orders/:orderID` and the Redis list byte for
 * byte the same.
 */
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
type ProductLineJson = OrderJson['products'][number];

/** A page of orders: GET /orders and GET /orders/user/:userID. */
export const orderPage = listPageSchema('OrderPage', 'orders', orderJson);

/** An order as the JSON tells it, in the service's words; prices in currency units, as the JSON shows them. */
export interface OrderView {
  orderId: string;
  serialNumber: number;
  clientId: string;
  clientName: string;
  fullAddress: string;
  paymentMethod: string;
  orderStatus: string;
  sagaStatus: string;
  /** ISO 8601, as toISOString writes it. */
  createdAt: string;
  totalPrice: number;
  lines: ProductLine[];
}

export interface ProductLine {
  productId: string;
  productName: string;
  actualPrice: number;
}

export function toOrderJson(view: OrderView): OrderJson {
  return {
    orderStatus: view.orderStatus,
    paymentMethod: view.paymentMethod,
    client: { ClientID: view.clientId, ClientName: view.clientName },
    address: view.fullAddress,
    OrderID: view.orderId,
    serialNumber: view.serialNumber,
    products: view.lines.map(toProductLineJson),
    createdAt: view.createdAt,
    totalPrice: view.totalPrice,
    sagaStatus: view.sagaStatus,
  };
}

export function orderJsonText(view: OrderView): string {
  return JSON.stringify(toOrderJson(view));
}

export function productLineText(line: ProductLine): string {
  return JSON.stringify(toProductLineJson(line));
}

/**
 * The order's JSON without its products, cut where they go: `head + lines.map(productLineText).join(',') + tail`
 * is orderJsonText of the whole order. The projection keeps the two pieces while an order's events arrive and
 * joins them once the last line is there; it never writes JSON of its own.
 */
export function orderJsonFrame(view: Omit<OrderView, 'lines'>): { head: string; tail: string } {
  const text = orderJsonText({ ...view, lines: [] });
  // Quotes inside string values are escaped by JSON.stringify, so the first raw `"products":[]` is the key itself.
  const cut = text.indexOf(PRODUCTS_KEY) + PRODUCTS_KEY.length - 1;
  return { head: text.slice(0, cut), tail: text.slice(cut) };
}

const PRODUCTS_KEY = '"products":[]';

function toProductLineJson(line: ProductLine): ProductLineJson {
  return { productID: line.productId, name: line.productName, actualPrice: line.actualPrice };
}
