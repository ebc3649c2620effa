-- CreateTable
CREATE TABLE "proxy_calls" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "api_key_id" VARCHAR(40) NOT NULL,
    "account_id" VARCHAR(40) NOT NULL,
    "method" VARCHAR(10) NOT NULL,
    "host" VARCHAR(300) NOT NULL,
    "path" VARCHAR(2000) NOT NULL,
    "upstream_status" INTEGER,
    "error" VARCHAR(60),
    "bytes_in" BIGINT NOT NULL,
    "bytes_out" BIGINT NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "proxy_calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "proxy_files" (
    "id" VARCHAR(60) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "content_type" VARCHAR(200) NOT NULL,
    "size" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "proxy_files_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "proxy_calls_project_id_account_id_created_at_id_idx" ON "proxy_calls"("project_id", "account_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "proxy_calls_created_at_idx" ON "proxy_calls"("created_at");

-- CreateIndex
CREATE INDEX "proxy_files_expires_at_idx" ON "proxy_files"("expires_at");
