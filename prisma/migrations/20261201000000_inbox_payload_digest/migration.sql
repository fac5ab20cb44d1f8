-- "The same message" is a message id together with what the message says (its payload digest), not the id alone:
-- two replies for different orders that happen to share a message id are two messages, and both must be applied.
-- Rows recorded before this migration keep an empty digest; a redelivery of one of them is then applied again,
-- which the saga's own rule makes harmless (the order is no longer pending, so the reply is ignored).
ALTER TABLE "inbox" ADD COLUMN "payload_digest" TEXT NOT NULL DEFAULT '';
ALTER TABLE "inbox" DROP CONSTRAINT "inbox_pkey";
ALTER TABLE "inbox" ADD CONSTRAINT "inbox_pkey" PRIMARY KEY ("consumer", "message_id", "payload_digest");
