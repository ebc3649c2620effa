-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "brand_accent" VARCHAR(7),
ADD COLUMN     "brand_logo_url" VARCHAR(2000),
ADD COLUMN     "brand_name" VARCHAR(120),
ADD COLUMN     "link_ttl_seconds" INTEGER NOT NULL DEFAULT 600;

-- CreateTable
CREATE TABLE "link_sessions" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "account_id" VARCHAR(40) NOT NULL,
    "token_hash" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "link_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "link_sessions_token_hash_key" ON "link_sessions"("token_hash");

-- CreateIndex
CREATE INDEX "link_sessions_account_id_idx" ON "link_sessions"("account_id");

-- CreateIndex
CREATE INDEX "link_sessions_expires_at_idx" ON "link_sessions"("expires_at");

-- AddForeignKey
ALTER TABLE "link_sessions" ADD CONSTRAINT "link_sessions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "connected_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
