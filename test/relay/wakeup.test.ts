import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204, orderBody, seedCatalog, type Catalog } from '../support/fixtures.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { OutboxListener } from '../../src/outbox/outbox-listener.js';
import { startRelayRole } from '../../src/composition/relay-role.js';
import { eventually } from './event-collector.js';

let t: TestService;
let catalog: Catalog;
let listening: pg.Client;
const notifications: { processId: number }[] = [];

beforeAll(async () => {
  t = await startTestService();
  await t.service.rabbit.start();
  await t.service.rabbit.waitForConnection(10_000);
  catalog = await seedCatalog(t, 1, [10]);
  listening = await connectPg(t.databaseUrl);
  listening.on('notification', (message) => notifications.push(message));
  await listening.query('LISTEN outbox_ready');
});
afterAll(async () => {
  await listening?.end();
  await t.close();
});

describe('waking relays', () => {
  it('when a process without a relay commits ready rows, then it sends NOTIFY outbox_ready after the commit', async () => {
    await expect204(t.http.post('/api/v1/orders').send(orderBody(catalog)));
    await eventually('a notification', async () => notifications.length > 0);
    expect(notifications[0]!.processId).toBe(t.service.outboxNotifier.backendPid);
  });

  it('when the process runs a relay itself, then its commits wake it in-process and send no NOTIFY', async () => {
    const other = t.sibling(); // a fresh notifier that has never sent anything
    await other.service.rabbit.start();
    const relay = await startRelayRole(other.service);
    const body = orderBody(catalog);
    await expect204(other.http.post('/api/v1/orders').send(body));
    await eventually('the saga request published', async () => {
      const { rows } = await listening.query(`SELECT status FROM outbox WHERE aggregate_id = $1 AND sequence = 1`, [body.orderID]);
      return rows[0]?.status === 'Published';
    });
    // The notifier connects on its first NOTIFY: it never did.
    expect(other.service.outboxNotifier.backendPid).toBeUndefined();
    await relay.stop();
    await other.close();
  });

  it('when the listening connection is killed, then the listener reconnects, wakes the relay once for what it missed, and hears NOTIFYs again', async () => {
    let wakes = 0;
    const listener = new OutboxListener(t.databaseUrl, createLogger({ level: 'error', silent: true }), 2_000, () => wakes++);
    await listener.start();
    expect(wakes).toBe(1); // on (re)connecting: notifications sent while it was away are lost, so look anyway

    await listening.query(`SELECT pg_notify('outbox_ready', '')`);
    await eventually('the wake-up from NOTIFY', async () => wakes === 2);

    await listening.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'order-service outbox listener'`,
    );
    await eventually('the wake-up after reconnecting', async () => wakes === 3);
    await listening.query(`SELECT pg_notify('outbox_ready', '')`);
    await eventually('the wake-up from NOTIFY after reconnecting', async () => wakes === 4);
    await listener.close();
  });
});
