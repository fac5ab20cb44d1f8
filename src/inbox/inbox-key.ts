import { createHash } from 'node:crypto';

/**
 * What the inbox means by "the same message": the same message id AND the same meaning. Each half alone is wrong:
 * - the id alone would drop a message whose publisher reused an id (a hand-typed id copied from another reply, a
 *   buggy client), although it was never applied;
 * - the meaning alone (for a saga reply: the order and the decision) would make two genuine, separate messages
 *   with equal content look like one; harmless for saga replies, wrong for an inbox that other consumers share.
 * A broker redelivery and a publisher's retry carry both the same id and the same content, so they are recognised.
 * The meaning is hashed from its canonical form (not the raw bytes), so whitespace or key case does not matter.
 */
export interface InboxKey {
  /** The message id as stored: itself when printable and short, else `sha256:` and the digest of its bytes. */
  messageId: string;
  /** sha256 (hex) of the message's meaning in canonical form. */
  payloadDigest: string;
}

/** Message ids longer than this, or holding anything but printable ASCII (NUL, say), are stored as their digest. */
const READABLE_ID = /^[\x20-\x7e]{1,200}$/;

/** The key of a message with this id and meaning; undefined without a usable id (no inbox row then). */
export function inboxKey(messageId: unknown, meaning: string): InboxKey | undefined {
  if (typeof messageId !== 'string' || messageId.trim() === '') return undefined;
  const id = READABLE_ID.test(messageId) ? messageId.trim() : `sha256:${sha256(messageId)}`;
  return { messageId: id, payloadDigest: sha256(meaning) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
