import { sql, type Sql } from '../platform/database/sql.js';
import type { InboxKey } from './inbox-key.js';

/** Every statement on the `inbox` table. */

/**
 * Records a message as applied (see inbox-key.ts for what "the same message" is). One row per message id lists
 * the digests seen under it. A digest already listed is a redelivery: nothing is written and nothing returned. A
 * new digest under a known id is added: a reused id, the returned count is above one. ON CONFLICT waits for a
 * concurrent transaction that inserted the same id and then sees its row, so two deliveries handled at once cannot
 * both see "new", and a reuse is seen whichever of the two commits first.
 */
export function recordMessage(consumer: string, key: InboxKey): Sql<{ digests: number }> {
  return sql<{ digests: number }>`
    INSERT INTO inbox (consumer, message_id, payload_digests) VALUES (${consumer}, ${key.messageId}, ARRAY[${key.payloadDigest}])
    ON CONFLICT (consumer, message_id) DO UPDATE SET payload_digests = inbox.payload_digests || EXCLUDED.payload_digests
      WHERE NOT (EXCLUDED.payload_digests[1] = ANY (inbox.payload_digests))
    RETURNING cardinality(payload_digests) AS digests`.prepared('inbox-record');
}

/**
 * At most `limit` rows received before now - retentionMs (PostgreSQL's clock, which also set received_at), oldest
 * first, on the received_at index. SKIP LOCKED lets two schedulers share the work.
 */
export function deleteReceivedBefore(retentionMs: number, limit: number): Sql<{ id: string }> {
  return sql`
    DELETE FROM inbox WHERE (consumer, message_id) IN (
      SELECT consumer, message_id FROM inbox
      WHERE received_at < now() - ${retentionMs}::float8 * interval '1 millisecond'
      ORDER BY received_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING message_id AS id`;
}
