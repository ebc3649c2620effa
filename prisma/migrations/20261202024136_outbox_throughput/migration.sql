-- DropIndex
DROP INDEX "webhook_deliveries_status_next_attempt_at_idx";

-- DropIndex
DROP INDEX "webhook_deliveries_subscription_id_account_id_event_seq_idx";

-- DropIndex
DROP INDEX "webhook_events_dispatched_at_seq_idx";

-- Hand-written below (Prisma models neither partial indexes nor triggers).

-- Pending events only, in seq order: the fan-out's "oldest undispatched first" is an ordered scan of
-- this index whatever the table's statistics say, and the index stays as small as the backlog.
CREATE INDEX "webhook_events_pending_seq_idx" ON "webhook_events"("seq") WHERE "dispatched_at" IS NULL;

-- Pending deliveries in the claim's order, due first (the claim walks it, reading only due rows, and
-- stops at its LIMIT) ...
CREATE INDEX "webhook_deliveries_pending_due_idx" ON "webhook_deliveries"("next_attempt_at", "event_seq") WHERE "status" = 'PENDING';
-- ... and a pending delivery's older siblings for the same subscription and account (per-account order).
CREATE INDEX "webhook_deliveries_pending_account_idx" ON "webhook_deliveries"("subscription_id", "account_id", "event_seq") WHERE "status" = 'PENDING';

-- The outbox trigger, lighter: the row's snapshot is built once per change (not once per event:
-- a create is two events), and all of a change's events go in with one INSERT, in kind order (seq
-- follows the ordinality). Which events a change writes is unchanged.
CREATE OR REPLACE FUNCTION latchkey_connected_account_events() RETURNS trigger AS $$
DECLARE
  kinds text[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    kinds := CASE WHEN NEW.status = 'ACTIVE' THEN ARRAY['created', 'activated'] ELSE ARRAY['created'] END;
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
      ELSE NULL END;
  ELSIF NEW.refresh_failures >= 3 AND OLD.refresh_failures < 3 THEN
    -- Transient refresh failures, repeated: the account still works, but someone should look.
    kinds := ARRAY['refresh_failed'];
  END IF;
  IF kinds IS NULL THEN
    RETURN NULL; -- most updates (token refreshes, leases) are not events: no snapshot is built
  END IF;
  INSERT INTO webhook_events (id, project_id, account_id, type, snapshot)
  SELECT 'msg_' || gen_random_uuid(), NEW.project_id, NEW.id, 'composio.connected_account.' || k.kind, s.snapshot
    FROM (SELECT to_jsonb(NEW) AS snapshot) s, unnest(kinds) WITH ORDINALITY AS k(kind, n)
   ORDER BY k.n;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
