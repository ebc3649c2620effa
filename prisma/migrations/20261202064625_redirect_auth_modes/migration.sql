-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "callback_verifier_url" VARCHAR(2000);

-- CreateTable
CREATE TABLE "callback_sessions" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "account_id" VARCHAR(40) NOT NULL,
    "user_id" VARCHAR(255) NOT NULL,
    "hash" BYTEA NOT NULL,
    "pending_grant" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "callback_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registered_clients" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "issuer" VARCHAR(2000) NOT NULL,
    "redirect_uri" VARCHAR(2000) NOT NULL,
    "client_id" VARCHAR(2000) NOT NULL,
    "client_secret" TEXT,
    "token_endpoint_auth_method" VARCHAR(40) NOT NULL,
    "client_id_issued_at" INTEGER,
    "client_secret_expires_at" INTEGER,
    "server_metadata" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registered_clients_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "callback_sessions_hash_key" ON "callback_sessions"("hash");

-- CreateIndex
CREATE INDEX "callback_sessions_account_id_idx" ON "callback_sessions"("account_id");

-- CreateIndex
CREATE INDEX "callback_sessions_expires_at_idx" ON "callback_sessions"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "registered_clients_project_id_issuer_redirect_uri_key" ON "registered_clients"("project_id", "issuer", "redirect_uri");

-- AddForeignKey
ALTER TABLE "callback_sessions" ADD CONSTRAINT "callback_sessions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "connected_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registered_clients" ADD CONSTRAINT "registered_clients_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
