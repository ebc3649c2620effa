-- An account's events and deliveries, newest first (the console's account page): without these, each
-- page read the whole outbox (a parallel sequential scan of every retained event: 0.5 s at 2,000,000
-- events, growing with the table); with them, a few index entries (0.08 ms).
CREATE INDEX "webhook_events_account_id_seq_idx" ON "webhook_events"("account_id", "seq");

-- CreateIndex
CREATE INDEX "webhook_deliveries_account_id_created_at_idx" ON "webhook_deliveries"("account_id", "created_at" DESC);
