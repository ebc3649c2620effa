-- AlterTable
ALTER TABLE "connected_accounts" ADD COLUMN     "next_refresh_at" TIMESTAMPTZ(3),
ADD COLUMN     "refresh_failures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "refresh_lease_until" TIMESTAMPTZ(3),
ADD COLUMN     "token_expires_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "oauth_attempts" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "account_id" VARCHAR(40) NOT NULL,
    "state_hash" BYTEA NOT NULL,
    "code_verifier" TEXT,
    "redirect_uri" VARCHAR(2000) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "oauth_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "oauth_attempts_state_hash_key" ON "oauth_attempts"("state_hash");

-- CreateIndex
CREATE INDEX "oauth_attempts_account_id_idx" ON "oauth_attempts"("account_id");

-- CreateIndex
CREATE INDEX "oauth_attempts_expires_at_idx" ON "oauth_attempts"("expires_at");

-- CreateIndex
CREATE INDEX "connected_accounts_token_expires_at_idx" ON "connected_accounts"("token_expires_at");

-- CreateIndex
CREATE INDEX "connected_accounts_status_created_at_idx" ON "connected_accounts"("status", "created_at");

-- AddForeignKey
ALTER TABLE "oauth_attempts" ADD CONSTRAINT "oauth_attempts_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "connected_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
