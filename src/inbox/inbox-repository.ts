import { requireTransaction } from '../platform/database/transaction-context.js';

/**
 * Remembers which messages a consumer has applied. The row is written in the same transaction as the
 * message's effects, so "recorded" and "applied" commit (or roll back) together: a redelivery after a crash
 * between commit and ack finds the row and changes nothing.
 *
 * Returns false when the message was already recorded. ON CONFLICT DO NOTHING waits for a concurrent
 * transaction that inserted the same key, so two deliveries handled at once cannot both see "new".
 */
export async function recordInboxMessage(consumer: string, messageId: string): Promise<boolean> {
  const count = await requireTransaction().$executeRaw`
    INSERT INTO inbox (consumer, message_id) VALUES (${consumer}, ${messageId}) ON CONFLICT DO NOTHING`;
  return count === 1;
}
