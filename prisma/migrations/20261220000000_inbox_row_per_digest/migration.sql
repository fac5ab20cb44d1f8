-- One row per message: (consumer, message id, digest of its meaning). Before, one row per message id listed the
-- digests seen under it, and a publisher that sent one id for every reply grew that row's array by a digest per
-- reply: each reply re-read and rewrote the whole array under the row's lock, so those replies ran one at a time
-- and slowed as it grew, and retention counted from the first reply only. Now each message is one small insert of
-- its own, kept for INBOX_RETENTION from its own receipt.
-- Rows from before the digests (an empty list) never matched a delivery: dropping them changes no outcome.
-- The lock makes a reply that an earlier version's consumer is recording wait for the copy, and then fail (it is
-- retried, then dead-lettered, and can be replayed: README, "Upgrading"), instead of committing into the old
-- table behind the copy's back.
LOCK TABLE "inbox" IN EXCLUSIVE MODE;

CREATE TABLE "inbox_by_digest" (
    "consumer" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    "payload_digest" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "inbox_by_digest_pkey" PRIMARY KEY ("consumer", "message_id", "payload_digest")
);

INSERT INTO "inbox_by_digest" ("consumer", "message_id", "payload_digest", "received_at")
SELECT "consumer", "message_id", digest, "received_at"
FROM "inbox" CROSS JOIN LATERAL unnest("payload_digests") AS digest
ON CONFLICT DO NOTHING;

DROP TABLE "inbox";
ALTER TABLE "inbox_by_digest" RENAME TO "inbox";
ALTER TABLE "inbox" RENAME CONSTRAINT "inbox_by_digest_pkey" TO "inbox_pkey";
CREATE INDEX "inbox_received_at_idx" ON "inbox"("received_at");
