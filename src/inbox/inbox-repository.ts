import { requireTransaction } from '../platform/database/transaction-context.js';
import type { InboxKey } from './inbox-key.js';

export interface InboxRecord {
  /** False when this very message (same id, same meaning) was recorded before: a redelivery. */
  recorded: boolean;
  /** Another message with this id but a different meaning was recorded before: the publisher reuses ids. */
  idReused: boolean;
}

/**
 * Remembers which messages a consumer has applied. The row is written in the same transaction as the message's
 * effects, so "recorded" and "applied" commit (or roll back) together: a redelivery after a crash between commit
 * and ack finds the row and changes nothing.
 *
 * One row per message id lists the digests seen under it (see inbox-key.ts). A digest already listed is a
 * redelivery: nothing is written and nothing returned. A new digest under a known id is added: a reused id. ON
 * CONFLICT waits for a concurrent transaction that inserted the same id and then sees its row, so two deliveries
 * handled at once cannot both see "new", and a reuse is seen whichever of the two commits first.
 */
export async function recordInboxMessage(consumer: string, key: InboxKey): Promise<InboxRecord> {
  const rows = await requireTransaction().$queryRaw<{ digests: number }[]>`
    INSERT INTO inbox (consumer, message_id, payload_digests) VALUES (${consumer}, ${key.messageId}, ARRAY[${key.payloadDigest}])
    ON CONFLICT (consumer, message_id) DO UPDATE SET payload_digests = inbox.payload_digests || EXCLUDED.payload_digests
      WHERE NOT (EXCLUDED.payload_digests[1] = ANY (inbox.payload_digests))
    RETURNING cardinality(payload_digests) AS digests`;
  if (rows.length === 0) return { recorded: false, idReused: false };
  return { recorded: true, idReused: rows[0]!.digests > 1 };
}
