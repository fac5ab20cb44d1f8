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
 * and ack finds the row and changes nothing. ON CONFLICT DO NOTHING waits for a concurrent transaction that
 * inserted the same key, so two deliveries handled at once cannot both see "new". The reuse check reads the rows
 * as they were before this statement, which is what it asks: was this id seen with another meaning.
 */
export async function recordInboxMessage(consumer: string, key: InboxKey): Promise<InboxRecord> {
  const [row] = await requireTransaction().$queryRaw<InboxRecord[]>`
    WITH inserted AS (
      INSERT INTO inbox (consumer, message_id, payload_digest) VALUES (${consumer}, ${key.messageId}, ${key.payloadDigest})
      ON CONFLICT DO NOTHING
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM inserted) AS recorded,
           EXISTS (SELECT 1 FROM inbox WHERE consumer = ${consumer} AND message_id = ${key.messageId} AND payload_digest <> ${key.payloadDigest}) AS "idReused"`;
  return row!;
}
