-- AlterTable
ALTER TABLE "connected_accounts" ADD COLUMN     "activated_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "webhook_subscriptions" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "url" VARCHAR(2000) NOT NULL,
    "enabled_events" TEXT[],
    "version" VARCHAR(4) NOT NULL DEFAULT 'V3',
    "secret" TEXT NOT NULL,
    "previous_secret" TEXT,
    "previous_secret_until" TIMESTAMPTZ(3),
    "status" VARCHAR(16) NOT NULL DEFAULT 'ENABLED',
    "disabled_reason" VARCHAR(300),
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "id" VARCHAR(60) NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "account_id" VARCHAR(40),
    "type" VARCHAR(100) NOT NULL,
    "snapshot" JSONB NOT NULL,
    "body" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dispatched_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "subscription_id" VARCHAR(40) NOT NULL,
    "event_id" VARCHAR(60) NOT NULL,
    "event_seq" BIGINT NOT NULL,
    "account_id" VARCHAR(40),
    "status" VARCHAR(16) NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_until" TIMESTAMPTZ(3),
    "last_status_code" INTEGER,
    "last_error" VARCHAR(300),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_attempts" (
    "id" VARCHAR(40) NOT NULL,
    "delivery_id" VARCHAR(40) NOT NULL,
    "attempt" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "status_code" INTEGER,
    "error" VARCHAR(300),

    CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_subscriptions_project_id_created_at_id_idx" ON "webhook_subscriptions"("project_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "webhook_events_seq_key" ON "webhook_events"("seq");

-- CreateIndex
CREATE INDEX "webhook_events_dispatched_at_seq_idx" ON "webhook_events"("dispatched_at", "seq");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_subscription_id_created_at_idx" ON "webhook_deliveries"("subscription_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "webhook_deliveries_subscription_id_account_id_event_seq_idx" ON "webhook_deliveries"("subscription_id", "account_id", "event_seq");

-- CreateIndex
CREATE INDEX "webhook_attempts_delivery_id_attempt_idx" ON "webhook_attempts"("delivery_id", "attempt");

-- AddForeignKey
ALTER TABLE "webhook_subscriptions" ADD CONSTRAINT "webhook_subscriptions_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "webhook_subscriptions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "webhook_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The transactional outbox for connected-account events. A trigger, so that every change from any
-- code path writes its event in the same transaction as the change itself (hand-written, since Prisma
-- does not model triggers).
CREATE FUNCTION latchkey_connected_account_events() RETURNS trigger AS $$
DECLARE
  kinds text[] := ARRAY[]::text[];
  kind text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    kinds := ARRAY['created'];
    IF NEW.status = 'ACTIVE' THEN kinds := array_append(kinds, 'activated'); END IF;
  ELSIF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
    kinds := ARRAY['deleted'];
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    kinds := CASE NEW.status
      WHEN 'ACTIVE' THEN CASE
        WHEN OLD.status = 'INACTIVE' THEN ARRAY['enabled']
        WHEN OLD.activated_at IS NOT NULL THEN ARRAY['reauthorized']
        ELSE ARRAY['activated'] END
      WHEN 'INACTIVE' THEN ARRAY['disabled']
      WHEN 'FAILED' THEN ARRAY['failed']
      WHEN 'EXPIRED' THEN ARRAY['expired']
      WHEN 'REVOKED' THEN ARRAY['revoked']
      ELSE ARRAY[]::text[] END;
  ELSIF NEW.refresh_failures >= 3 AND OLD.refresh_failures < 3 THEN
    -- Transient refresh failures, repeated: the account still works, but someone should look.
    kinds := ARRAY['refresh_failed'];
  END IF;
  FOREACH kind IN ARRAY kinds LOOP
    INSERT INTO webhook_events (id, project_id, account_id, type, snapshot)
    VALUES ('msg_' || gen_random_uuid(), NEW.project_id, NEW.id, 'composio.connected_account.' || kind, to_jsonb(NEW));
  END LOOP;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- First activation, remembered on the row (so events can be pruned without losing the distinction
-- between "activated" and "reauthorized").
CREATE FUNCTION latchkey_connected_account_mark_activated() RETURNS trigger AS $$
BEGIN
  IF NEW.status = 'ACTIVE' AND NEW.activated_at IS NULL THEN
    NEW.activated_at := now();
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER connected_account_mark_activated
  BEFORE INSERT OR UPDATE ON connected_accounts
  FOR EACH ROW EXECUTE FUNCTION latchkey_connected_account_mark_activated();

CREATE TRIGGER connected_account_events
  AFTER INSERT OR UPDATE ON connected_accounts
  FOR EACH ROW EXECUTE FUNCTION latchkey_connected_account_events();
