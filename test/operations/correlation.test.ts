import { Writable } from 'node:stream';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, seedCatalog } from '../support/fixtures.js';
import { eventually, publishReply, startBackgroundRoles } from '../support/workload.js';
import { tapEvents } from '../support/event-tap.js';

const lines: Record<string, unknown>[] = [];

let t: TestService;
let stopRoles: () => Promise<void>;
beforeAll(async () => {
  const { createLogger } = await import('../../src/platform/observability/logger.js');
  // The service's own logger (correlation id from the async context), writing into `lines`.
  const logger = createLogger({ level: 'debug' });
  logger.clear().add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }) }));
  t = await startTestService({}, { logger });
  stopRoles = await startBackgroundRoles(t);
});
afterAll(async () => {
  await stopRoles();
  await t.close();
});

describe('correlation id', () => {
  it('when an order is created with X-Request-Id and answered by hand, then that one id finds its request, outbox rows, messages and saga handling', async () => {
    const catalog = await seedCatalog(t, 1, [10]);
    const body = orderBody(catalog);
    const id = `trace-${body.orderID.slice(0, 8)}`;

    // The saga request and the released events, each checked against /asyncapi.json.
    const tap = await tapEvents(t.amqpUrl);

    await expect204(t.http.post('/api/v1/orders').set('X-Request-Id', id).send(body));
    // Typed by hand: no message id, no headers.
    await publishReply(t, { orderID: body.orderID, orderType: 'Approved' });

    const client = await connectPg(t.databaseUrl);
    await eventually('publication', async () => (await client.query(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND status = 'Published'`, [body.orderID])).rows[0].n === 3);
    const rows = (await client.query('SELECT correlation_id FROM outbox WHERE aggregate_id = $1', [body.orderID])).rows;
    await client.end();
    const messages = await eventually('the messages', async () => tap.of(body.orderID).length >= 3 && tap.of(body.orderID));
    await tap.close();

    expect(rows.map((row) => row.correlation_id)).toEqual([id, id, id]);
    expect(messages.map((message) => message.headers['x-correlation-id'])).toEqual([id, id, id]);
    const mine = lines.filter((line) => line.correlationId === id);
    const seen = new Set(mine.map((line) => line.message_type ?? line.message));
    expect(seen).toContain('CreateOrder');
    expect(seen).toContain('ApproveOrder');
    expect(mine.some((line) => line.message === 'request' && line.route === '/api/v1/orders')).toBe(true);
  });
});
