import type pg from 'pg';

/**
 * What PostgreSQL says the per-user lists must hold: each user's approved, not deleted orders by createdAt then
 * serialNumber, rendered as CONTRACT.md's Order JSON straight from the tables (not through the service's own
 * rendering code), so that the projection and the API are checked against an independent reading.
 */
export async function expectedUserLists(pool: pg.Pool, onlyUser?: string): Promise<Map<string, OrderJson[]>> {
  // Two texts rather than one with "$1 IS NULL OR ...": the single-user read (polled while Redis is down) uses the index.
  const where = onlyUser === undefined ? '' : 'AND o.user_id = $1';
  const { rows } = await pool.query<Row>(
    `SELECT o.id, o.user_id, o.serial_number, o.payment_method, o.order_status, o.saga_status, o.total_cents, o.created_at,
            u.username, a.country, a.city, a.street_name, a.building_number,
            json_agg(json_build_object('productID', l.product_id, 'name', l.product_name, 'cents', l.actual_price_cents) ORDER BY l.position) AS lines
     FROM orders o
     JOIN users u ON u.id = o.user_id
     JOIN addresses a ON a.id = o.delivery_address_id
     JOIN order_lines l ON l.order_id = o.id
     WHERE o.saga_status = 'Approved' AND o.deleted_at IS NULL ${where}
     GROUP BY o.id, u.username, a.id
     ORDER BY o.user_id, o.created_at, o.serial_number`,
    onlyUser === undefined ? [] : [onlyUser],
  );
  const users = onlyUser === undefined ? (await pool.query<{ id: string }>('SELECT id FROM users')).rows.map((user) => user.id) : [onlyUser];
  const lists = new Map<string, OrderJson[]>(users.map((id) => [id, []]));
  for (const row of rows) lists.get(row.user_id)!.push(toJson(row));
  return lists;
}

export interface OrderJson {
  orderStatus: string;
  paymentMethod: string;
  client: { ClientID: string; ClientName: string };
  address: string;
  OrderID: string;
  serialNumber: number;
  products: { productID: string; name: string; actualPrice: number }[];
  createdAt: string;
  totalPrice: number;
  sagaStatus: string;
}

interface Row {
  id: string;
  user_id: string;
  serial_number: string;
  payment_method: string;
  order_status: string;
  saga_status: string;
  total_cents: string;
  created_at: Date;
  username: string;
  country: string;
  city: string;
  street_name: string;
  building_number: number;
  lines: { productID: string; name: string; cents: number }[];
}

function toJson(row: Row): OrderJson {
  return {
    orderStatus: row.order_status,
    paymentMethod: row.payment_method,
    client: { ClientID: row.user_id, ClientName: row.username },
    address: `${row.country}, ${row.city}, ${row.street_name}, ${row.building_number}`,
    OrderID: row.id,
    serialNumber: Number(row.serial_number),
    products: row.lines.map((line) => ({ productID: line.productID, name: line.name, actualPrice: line.cents / 100 })),
    createdAt: row.created_at.toISOString(),
    totalPrice: Number(row.total_cents) / 100,
    sagaStatus: row.saga_status,
  };
}

/** The projection's sorted-set member of an order (zero-padded serial number, see projection-keys.ts). */
export function memberOf(order: OrderJson): string {
  return String(order.serialNumber).padStart(16, '0');
}
