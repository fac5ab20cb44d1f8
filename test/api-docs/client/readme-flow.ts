// A client team's code: the README's flow through openapi-fetch, typed by what openapi-typescript generates from
// /openapi.json. test/api-docs/typed-client.test.ts copies this file beside the generated openapi.d.ts, type-checks
// both with tsc, then runs it against a listening service. It is not part of the project's own type check
// (tsconfig.json excludes this folder): the types it imports exist only once generated.
import createClient from 'openapi-fetch';
import type { components, paths } from './openapi.js';

type Order = components['schemas']['Order'];
type OrderPage = components['schemas']['OrderPage'];

export interface FlowIds {
  productID: string;
  addressID: string;
  userID: string;
  orderID: string;
}

/** What the flow read back: the order after it was created, and the user's list once it was approved. */
export interface FlowResult {
  created: Order;
  listed: OrderPage;
}

/** Product, address, user, order, read back, list: the README's "Try it", as a typed client sends it. */
export async function readmeFlow(baseUrl: string, fetch: (input: Request) => Promise<Response>, ids: FlowIds, approve: (orderID: string) => Promise<void>): Promise<FlowResult> {
  const api = createClient<paths>({ baseUrl, fetch, headers: { Authorization: 'Bearer ignored-without-authentication' } });
  await succeeded(api.POST('/api/v1/products', { body: { productID: ids.productID, name: 'Phone', description: 'a phone', price: 100, discount: 10 } }));
  await succeeded(
    api.POST('/api/v1/addresses', { body: { addressID: ids.addressID, buildingNumber: 44, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' } }),
  );
  await succeeded(api.POST('/api/v1/users', { body: { userID: ids.userID, username: 'test', addressID: ids.addressID } }));
  await succeeded(
    api.POST('/api/v1/orders', {
      body: { orderID: ids.orderID, paymentMethod: 'Card', productsIDs: [ids.productID], userID: ids.userID, deliveryAddress: ids.addressID },
    }),
  );
  const created = await succeeded(api.GET('/api/v1/orders/{orderID}', { params: { path: { orderID: ids.orderID } } }));
  await approve(created.OrderID);
  const listed = await succeeded(api.GET('/api/v1/orders/user/{userID}', { params: { path: { userID: created.client.ClientID }, query: { limit: '10', order: 'desc' } } }));
  return { created, listed };
}

/** The answer's data, or an error naming the status and the service's error body. */
async function succeeded<T>(call: Promise<{ data?: T; error?: { message: string; data: string }; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw new Error(`${response.url} answered ${response.status}: ${JSON.stringify(error)}`);
  return data as T;
}
