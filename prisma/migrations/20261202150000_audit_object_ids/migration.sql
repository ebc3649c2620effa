-- A record about several objects (one list page that returned credentials) names them in
-- object_ids, one row instead of one per object. Existing records keep object_ids NULL.
ALTER TABLE "audit_logs" ADD COLUMN "object_ids" TEXT[];

-- Finds such records by any object they name (GET /audit_logs?object_id=…). Partial: a record
-- about one object (most of them) adds no entry.
CREATE INDEX "audit_logs_object_ids_idx" ON "audit_logs" USING GIN ("object_ids") WHERE "object_ids" IS NOT NULL;
