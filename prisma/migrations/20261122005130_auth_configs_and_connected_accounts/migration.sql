-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "mask_credentials" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "mask_credentials" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "auth_configs" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "toolkit_slug" VARCHAR(63) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "auth_scheme" VARCHAR(32) NOT NULL,
    "is_composio_managed" BOOLEAN NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'ENABLED',
    "credentials" TEXT,
    "secret_keys" TEXT[],
    "proxy_config" JSONB,
    "tool_access_config" JSONB NOT NULL DEFAULT '{}',
    "is_enabled_for_tool_router" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "auth_configs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connected_accounts" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "auth_config_id" VARCHAR(40) NOT NULL,
    "toolkit_slug" VARCHAR(63) NOT NULL,
    "user_id" VARCHAR(256) NOT NULL,
    "auth_scheme" VARCHAR(32) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "status_reason" VARCHAR(500),
    "state" TEXT NOT NULL,
    "secret_keys" TEXT[],
    "alias" VARCHAR(255),
    "word_id" VARCHAR(80) NOT NULL,
    "callback_url" VARCHAR(2000),
    "account_type" VARCHAR(16) NOT NULL DEFAULT 'PRIVATE',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "connected_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "auth_configs_project_id_created_at_id_idx" ON "auth_configs"("project_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "connected_accounts_project_id_created_at_id_idx" ON "connected_accounts"("project_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "connected_accounts_project_id_updated_at_id_idx" ON "connected_accounts"("project_id", "updated_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "connected_accounts_auth_config_id_idx" ON "connected_accounts"("auth_config_id");

-- CreateIndex
CREATE UNIQUE INDEX "connected_accounts_project_id_user_id_toolkit_slug_alias_key" ON "connected_accounts"("project_id", "user_id", "toolkit_slug", "alias");

-- AddForeignKey
ALTER TABLE "auth_configs" ADD CONSTRAINT "auth_configs_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connected_accounts" ADD CONSTRAINT "connected_accounts_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connected_accounts" ADD CONSTRAINT "connected_accounts_auth_config_id_fkey" FOREIGN KEY ("auth_config_id") REFERENCES "auth_configs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
