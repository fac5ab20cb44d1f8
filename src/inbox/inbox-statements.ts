import { sql, type Sql } from '../platform/database/sql.js';
import type { InboxKey } from './inbox-key.js';

/** Every statement on the `inbox` table. */

/**
 * Records a message as applied (see inbox-key.ts for what "the same message" is): one row per consumer, message
 * id and digest. A message already recorded is a redelivery: nothing is written and nothing returned. ON CONFLICT
 * waits for a concurrent transaction that inserted the same row and then sees it, so two deliveries of one message
 * handled at once cannot both see "new".
 * The returned `idReused` says another message was recorded under this id before. It sees messages committed
 * before this statement began, so two messages sharing an id that are handled at the same instant both count as
 * new: a warning missed, never a message lost. A shared row per id would see every reuse, but its lock would make
 * a publisher that reuses one id for everything have its messages applied one at a time.
 */
export function recordMessage(consumer: string, key: InboxKey): Sql<{ idReused: boolean }> {
  return sql<{ idReused: boolean }>`
    INSERT INTO inbox AS recorded (consumer, message_id, payload_digest) VALUES (${consumer}, ${key.messageId}, ${key.payloadDigest})
    ON CONFLICT DO NOTHING
    RETURNING EXISTS (
      SELECT FROM inbox AS earlier
      WHERE (earlier.consumer, earlier.message_id) = (recorded.consumer, recorded.message_id) AND earlier.payload_digest <> recorded.payload_digest
    ) AS "idReused"`.prepared('inbox-record');
}

/**
 * At most `limit` rows received before now - retentionMs (PostgreSQL's clock, which also set received_at), oldest
 * first, on the received_at index. SKIP LOCKED lets two schedulers share the work.
 */
export function deleteReceivedBefore(retentionMs: number, limit: number): Sql<{ id: string }> {
  return sql`
    DELETE FROM inbox WHERE (consumer, message_id, payload_digest) IN (
      SELECT consumer, message_id, payload_digest FROM inbox
      WHERE received_at < now() - ${retentionMs}::float8 * interval '1 millisecond'
      ORDER BY received_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING message_id AS id`;
}
