import type { UnitOfWork } from '../platform/database/unit-of-work.js';
import type { InboxKey } from './inbox-key.js';
import { recordMessage } from './inbox-statements.js';

export interface InboxRecord {
  /** False when this very message (same id, same meaning) was recorded before: a redelivery. */
  recorded: boolean;
  /** Another message with this id but a different meaning was recorded before: the publisher reuses ids (see recordMessage). */
  idReused: boolean;
}

/**
 * Remembers which messages a consumer has applied. The row is written in the unit of work of the message's
 * effects, so "recorded" and "applied" commit (or roll back) together: a redelivery after a crash between commit
 * and ack finds the row and changes nothing.
 */
export async function recordInboxMessage(unit: UnitOfWork, consumer: string, key: InboxKey): Promise<InboxRecord> {
  const [row] = await unit.write(recordMessage(consumer, key));
  return inboxRecordOf(row);
}

/** What recordMessage's returned row (or its absence) says, when it ran as a part of another statement. */
export function inboxRecordOf(row: { idReused: boolean } | undefined): InboxRecord {
  return row ? { recorded: true, idReused: row.idReused } : { recorded: false, idReused: false };
}
