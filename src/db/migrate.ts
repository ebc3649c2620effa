/**
 * Applies prisma/migrations/ at start-up (MIGRATE_ON_START) and from `latchkey migrate`. A Postgres
 * advisory lock makes concurrent starts take turns: the first applies, the others find nothing to do.
 * Also computes the SQL between the migrations and the schema, for the drift check and `db:diff`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR, NO_FILTERS, SCHEMA_PATH, openSchemaEngine, readMigrations } from './schema-engine.js';

/** Latchkey's own lock id (Prisma's native engine uses 72707369; this one must differ). */
const MIGRATION_LOCK_ID = 4_815_162_342;

export async function withMigrationLock<T>(databaseUrl: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    await client.end();
  }
}

/** Applies every unapplied migration; returns the names applied. */
export async function applyMigrations(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  return withMigrationLock(databaseUrl, async () => {
    const { engine, close } = await openSchemaEngine(databaseUrl);
    try {
      const out = await engine.applyMigrations({ migrationsList: readMigrations(dir), filters: NO_FILTERS });
      return out.appliedMigrationNames;
    } finally {
      await close();
    }
  });
}

/**
 * The SQL that would bring a database built from the migrations up to the schema ('' when they agree).
 * The migrations are replayed into a scratch database on the given server, which is then described
 * and compared with the schema, and dropped.
 */
export async function pendingSchemaChanges(
  databaseUrl: string,
  dir = MIGRATIONS_DIR,
  schemaPath = SCHEMA_PATH,
): Promise<string> {
  const schema = readFileSync(schemaPath, 'utf8');
  const scratch = `latchkey_scratch_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${scratch}"`);
    const u = new URL(databaseUrl);
    u.pathname = `/${scratch}`;
    const scratchUrl = u.toString();
    await applyMigrations(scratchUrl, dir);
    const { engine, close } = await openSchemaEngine(scratchUrl, schema, schemaPath);
    try {
      const files = [{ path: schemaPath, content: schema }];
      const out = await engine.diff({
        from: { tag: 'schemaDatasource', files, configDir: path.dirname(schemaPath) },
        to: { tag: 'schemaDatamodel', files },
        script: true,
        exitCode: true,
        filters: NO_FILTERS,
      });
      return out.exitCode === 2 ? (out.stdout ?? '') : '';
    } finally {
      await close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}
