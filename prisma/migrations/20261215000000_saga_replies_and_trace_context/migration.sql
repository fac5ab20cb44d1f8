-- W3C trace context (traceparent, tracestate, baggage) of the work that recorded or released each outbox row: the
-- HTTP request that created the order, the saga reply that approved it. The relay sends it on as message headers,
-- so consumers continue that trace; a saga reply typed by hand without headers continues the trace of its order's
-- first row. NULL when tracing was off. Nullable without a default: adding them rewrites no row.
ALTER TABLE "outbox"
    ADD COLUMN "trace_parent" TEXT,
    ADD COLUMN "trace_state"  TEXT,
    ADD COLUMN "baggage"      TEXT;

-- Every saga reply received for an existing order and what became of it (applied, ignored because the saga had
-- ended, or dead-lettered), for GET /api/v1/orders/:orderID/history. Written in the reply's own unit of work
-- (applied and ignored) or after its dead-letter copy was confirmed; at most 20 rows per order (the writers check
-- under the order's row lock), so a flood of replies for one order cannot grow the table; a redelivery of a
-- recorded reply only counts in "duplicates". Rows older than SAGA_REPLY_RETENTION are deleted by the scheduler.
CREATE TABLE "saga_replies" (
    "id"             BIGSERIAL      NOT NULL,
    "order_id"       UUID           NOT NULL,
    "received_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "message_id"     TEXT,
    "decision"       TEXT           CHECK ("decision" IN ('Approved', 'Rejected')),
    "outcome"        TEXT           NOT NULL CHECK ("outcome" IN ('applied', 'ignored', 'dead_lettered')),
    "reason"         TEXT,
    "duplicates"     INTEGER        NOT NULL DEFAULT 0,
    "correlation_id" TEXT,
    CONSTRAINT "saga_replies_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "saga_replies_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON DELETE CASCADE
);
-- One order's replies in arrival order (the history, the per-order cap, a duplicate's count).
CREATE INDEX "saga_replies_order_id_id_idx" ON "saga_replies" ("order_id", "id");
-- Retention deletes by age.
CREATE INDEX "saga_replies_received_at_idx" ON "saga_replies" ("received_at");
