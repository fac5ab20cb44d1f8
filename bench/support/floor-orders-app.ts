/**
 * The floors' POST /api/v1/orders: bare Express taking the service's request body as it is (no validation, no
 * lookups), the order written by insertOrderRaw, 204 once committed, then `afterCommit` with the events written
 * (the saga floor publishes, the outbox floor wakes its relay, the create-order floor does nothing more).
 */
import express from 'express';
import type pg from 'pg';
import { insertOrderRaw, type FloorEvent, type FloorProduct } from './raw-order.js';

interface OrderBody {
  orderID: string;
  userID: string;
  deliveryAddress: string;
  paymentMethod: string;
  productsIDs: string[];
}

export function floorOrdersApp(pool: pg.Pool, products: Map<string, FloorProduct>, afterCommit?: (written: FloorEvent[], correlationId: string) => Promise<void> | void): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json());
  app.post('/api/v1/orders', async (req, res) => {
    const body = req.body as OrderBody;
    const correlationId = String(req.headers['x-request-id'] ?? body.orderID);
    const client = await pool.connect();
    let written: FloorEvent[];
    try {
      written = await insertOrderRaw(client, {
        orderId: body.orderID,
        userId: body.userID,
        addressId: body.deliveryAddress,
        paymentMethod: body.paymentMethod,
        products: body.productsIDs.map((id) => products.get(id)!),
        correlationId,
      });
    } catch (error) {
      res.status(500).json({ error: String(error) });
      return;
    } finally {
      client.release();
    }
    res.status(204).end();
    await afterCommit?.(written, correlationId);
  });
  return app;
}
