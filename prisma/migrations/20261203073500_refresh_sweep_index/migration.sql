-- DropIndex
DROP INDEX "connected_accounts_token_expires_at_idx";

-- Hand-written below (Prisma does not model partial indexes).

-- The refresh sweep asks for live accounts whose token expires soon, oldest expiry first. On the full
-- index it read every account no longer ACTIVE, or deleted, whose expiry had passed before reaching
-- a live one (57-78 ms a sweep with 90,659 of them, against 1.3-2.6 ms; bench/README.md), and every
-- account without a token (API keys and the like) added an entry to it.
CREATE INDEX "connected_accounts_refresh_due_idx" ON "connected_accounts"("token_expires_at")
  WHERE "status" = 'ACTIVE' AND "deleted_at" IS NULL AND "token_expires_at" IS NOT NULL;
