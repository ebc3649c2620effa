-- CreateTable
CREATE TABLE "audit_logs" (
    "id" VARCHAR(40) NOT NULL,
    "project_id" VARCHAR(40) NOT NULL,
    "actor" VARCHAR(120) NOT NULL,
    "action" VARCHAR(60) NOT NULL,
    "object_id" VARCHAR(120) NOT NULL,
    "outcome" VARCHAR(20) NOT NULL,
    "request_id" VARCHAR(128),
    "detail" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_logs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_logs_project_id_created_at_id_idx" ON "audit_logs"("project_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "audit_logs_project_id_object_id_created_at_id_idx" ON "audit_logs"("project_id", "object_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "audit_logs_created_at_idx" ON "audit_logs"("created_at");

-- Append-only: a record, once written, never changes. Retention pruning deletes whole old records.
CREATE FUNCTION "audit_logs_refuse_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "audit_logs_append_only" BEFORE UPDATE ON "audit_logs"
  FOR EACH ROW EXECUTE FUNCTION "audit_logs_refuse_update"();
