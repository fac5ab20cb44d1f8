-- The relay's one-second sweep counts parked rows for the outbox_parked_rows gauge. Without this index that
-- count would scan every unfinished row, held ones included (thousands while sagas are pending); parked rows
-- are rare, so the index stays tiny.
CREATE INDEX "outbox_parked_idx" ON "outbox" ("id") WHERE "status" = 'Parked';
