-- "The same message" is a message id together with what the message says (a digest of its payload), not the id
-- alone: two replies for different orders that happen to share a message id are two messages, and both must be
-- applied. The key stays the message id, and the row lists the digests seen under it, so that one upsert on that
-- key tells a redelivery (digest listed) from a reused id (digest new) even when both arrive at once: ON CONFLICT
-- waits for the other transaction and then sees its row.
-- Rows recorded before this migration have no digest; a redelivery of one of them is applied again, which the
-- saga's own rule makes harmless (the order is no longer pending, so the reply is ignored).
ALTER TABLE "inbox" ADD COLUMN "payload_digests" TEXT[] NOT NULL DEFAULT '{}';
