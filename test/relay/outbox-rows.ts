import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import winston from 'winston';
import type pg from 'pg';
import type { Logger } from '../../src/platform/observability/logger.js';

export interface TestRow {
  orderId: string;
  sequence: number;
  exchange?: string;
  routingKey?: string;
  status?: 'Ready' | 'Sagas';
}

/** Inserts outbox rows as a command would have written them (a body with the envelope fields); returns their event ids. */
export async function insertOutboxRows(client: pg.Client, rows: TestRow[]): Promise<string[]> {
  const eventIds = rows.map(() => randomUUID());
  const bodies = rows.map((row, index) =>
    JSON.stringify({ eventID: eventIds[index], eventType: 'OrderTestEvent', eventTimeStamp: new Date().toISOString(), orderID: row.orderId, sequence: row.sequence }),
  );
  await client.query(
    `INSERT INTO outbox (event_id, aggregate_id, sequence, exchange, routing_key, event_type, payload, correlation_id, status, ready_at)
     SELECT e, a, s, x, k, 'OrderTestEvent', p::jsonb, 'test-correlation', st, CASE WHEN st = 'Ready' THEN now() END
     FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[]) AS r(e, a, s, x, k, p, st)`,
    [
      eventIds,
      rows.map((row) => row.orderId),
      rows.map((row) => row.sequence),
      rows.map((row) => row.exchange ?? 'Orders'),
      rows.map((row) => row.routingKey ?? 'Order.Test'),
      bodies,
      rows.map((row) => row.status ?? 'Ready'),
    ],
  );
  return eventIds;
}

export interface OutboxRowState {
  event_id: string;
  aggregate_id: string;
  sequence: number;
  status: string;
  attempts: number;
  last_error: string | null;
}

export async function rowsOf(client: pg.Client, orderId: string): Promise<OutboxRowState[]> {
  const { rows } = await client.query<OutboxRowState>(
    'SELECT event_id, aggregate_id, sequence, status, attempts, last_error FROM outbox WHERE aggregate_id = $1 ORDER BY sequence',
    [orderId],
  );
  return rows;
}

/**
 * Silences a service logger's console and records its JSON lines from `level` up, for assertions. The logger
 * drops lines below the level it was created with, so start the service with LOG_LEVEL at `level` or lower.
 */
export function captureLogs(logger: Logger, level = 'info'): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const transport of logger.transports) transport.silent = true;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  logger.add(new winston.transports.Stream({ stream: sink, level }));
  return lines;
}
