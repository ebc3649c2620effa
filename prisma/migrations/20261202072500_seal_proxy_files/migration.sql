-- Proxy files are sealed at rest. New files keep their body only in "sealed_bytes" (AES-GCM, bound
-- to project and file id). The key never reaches the database, so rows stored in plaintext before
-- this release are sealed by Latchkey itself: at start-up and on every maintenance run, each such
-- row gets "sealed_bytes" and loses "bytes" in one statement. Until then they still download.
ALTER TABLE "proxy_files" ADD COLUMN "sealed_bytes" TEXT;
ALTER TABLE "proxy_files" ALTER COLUMN "bytes" DROP NOT NULL;

-- A file has exactly one body (sealed, or plaintext not yet sealed): the proxy repository writes
-- them so. Not a CHECK constraint: the schema engine behind the drift check cannot read one.
