-- Initial schema: catalog, customers, orders with their lines, outbox and inbox.

CREATE TABLE "products" (
    "id"          UUID         NOT NULL,
    "name"        TEXT         NOT NULL,
    "description" TEXT         NOT NULL,
    "price_cents" BIGINT       NOT NULL CHECK ("price_cents" > 0),
    "discount"    INTEGER      NOT NULL CHECK ("discount" BETWEEN 0 AND 99),
    "created_at"  TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "products_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "products_name_key" ON "products" ("name");
CREATE INDEX "products_price_cents_id_idx" ON "products" ("price_cents", "id");

CREATE TABLE "addresses" (
    "id"              UUID         NOT NULL,
    "building_number" INTEGER      NOT NULL CHECK ("building_number" > 0),
    "street_name"     TEXT         NOT NULL,
    "city"            TEXT         NOT NULL,
    "country"         TEXT         NOT NULL,
    "created_at"      TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "addresses_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "users" (
    "id"         UUID         NOT NULL,
    "username"   TEXT         NOT NULL,
    "address_id" UUID         NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "users_address_id_fkey" FOREIGN KEY ("address_id") REFERENCES "addresses" ("id")
);
CREATE INDEX "users_address_id_idx" ON "users" ("address_id");

CREATE TABLE "orders" (
    "id"                  UUID         NOT NULL,
    "serial_number"       BIGSERIAL    NOT NULL,
    "user_id"             UUID         NOT NULL,
    "delivery_address_id" UUID         NOT NULL,
    "payment_method"      TEXT         NOT NULL,
    "order_status"        TEXT         NOT NULL,
    "saga_status"         TEXT         NOT NULL,
    "saga_deadline"       TIMESTAMPTZ(3) NOT NULL,
    "saga_ended_at"       TIMESTAMPTZ(3),
    "total_cents"         BIGINT       NOT NULL,
    "request_fingerprint" TEXT         NOT NULL,
    "last_event_sequence" INTEGER      NOT NULL,
    "created_at"          TIMESTAMPTZ(3) NOT NULL,
    "deleted_at"          TIMESTAMPTZ(3),
    CONSTRAINT "orders_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "orders_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id"),
    CONSTRAINT "orders_delivery_address_id_fkey" FOREIGN KEY ("delivery_address_id") REFERENCES "addresses" ("id")
);
CREATE UNIQUE INDEX "orders_serial_number_key" ON "orders" ("serial_number");
CREATE INDEX "orders_user_id_created_at_idx" ON "orders" ("user_id", "created_at");
CREATE INDEX "orders_created_at_serial_number_idx" ON "orders" ("created_at", "serial_number");
CREATE INDEX "orders_delivery_address_id_idx" ON "orders" ("delivery_address_id");
-- The scheduler's saga-timeout query scans only pending orders, by deadline.
CREATE INDEX "orders_pending_saga_deadline_idx" ON "orders" ("saga_deadline") WHERE "saga_status" = 'Pending';

CREATE TABLE "order_lines" (
    "order_id"           UUID    NOT NULL,
    "position"           INTEGER NOT NULL,
    "product_id"         UUID    NOT NULL,
    "product_name"       TEXT    NOT NULL,
    "list_price_cents"   BIGINT  NOT NULL,
    "discount"           INTEGER NOT NULL,
    "actual_price_cents" BIGINT  NOT NULL,
    CONSTRAINT "order_lines_pkey" PRIMARY KEY ("order_id", "position"),
    CONSTRAINT "order_lines_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON DELETE CASCADE,
    CONSTRAINT "order_lines_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products" ("id")
);
CREATE INDEX "order_lines_product_id_idx" ON "order_lines" ("product_id");

CREATE TABLE "outbox" (
    "id"              BIGSERIAL    NOT NULL,
    "event_id"        UUID         NOT NULL,
    "aggregate_id"    UUID         NOT NULL,
    "sequence"        INTEGER      NOT NULL,
    "exchange"        TEXT         NOT NULL,
    "routing_key"     TEXT         NOT NULL,
    "event_type"      TEXT         NOT NULL,
    "payload"         JSONB        NOT NULL,
    "correlation_id"  TEXT,
    "status"          TEXT         NOT NULL CHECK ("status" IN ('Ready', 'Published', 'Sagas', 'Discarded', 'Parked')),
    "attempts"        INTEGER      NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error"      TEXT,
    "created_at"      TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ready_at"        TIMESTAMPTZ(3),
    "published_at"    TIMESTAMPTZ(3),
    CONSTRAINT "outbox_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "outbox_event_id_key" ON "outbox" ("event_id");
CREATE UNIQUE INDEX "outbox_aggregate_id_sequence_key" ON "outbox" ("aggregate_id", "sequence");
-- The relay claims from this: only rows that may still be published, in recording order.
CREATE INDEX "outbox_ready_idx" ON "outbox" ("id") WHERE "status" = 'Ready';
-- The relay's per-order ordering check looks for an earlier row of the same order that is not done yet.
CREATE INDEX "outbox_unfinished_idx" ON "outbox" ("aggregate_id", "sequence") WHERE "status" IN ('Ready', 'Sagas', 'Parked');
-- Retention deletes published rows by age.
CREATE INDEX "outbox_published_at_idx" ON "outbox" ("published_at") WHERE "status" = 'Published';

CREATE TABLE "inbox" (
    "consumer"    TEXT         NOT NULL,
    "message_id"  TEXT         NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "inbox_pkey" PRIMARY KEY ("consumer", "message_id")
);
CREATE INDEX "inbox_received_at_idx" ON "inbox" ("received_at");
