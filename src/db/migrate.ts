/**
 * Applies prisma/migrations/ at start-up (MIGRATE_ON_START) and from `latchkey migrate`. A Postgres
 * advisory lock makes concurrent starts take turns: the first applies, the others find nothing to do.
 * Also computes the SQL between the migrations and the schema, for the drift check and `db:diff`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR, NO_FILTERS, SCHEMA_PATH, openSchemaEngine, readMigrations } from './schema-engine.js';

/** Latchkey's own lock id (Prisma's native engine uses 72707369; this one must differ). */
const MIGRATION_LOCK_ID = 4_815_162_342;

export async function withMigrationLock<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    return await fn(client);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    await client.end();
  }
}

/**
 * Whether every migration in the folder is recorded in `_prisma_migrations` as applied, not rolled
 * back, with the checksum of its file as it is now (Prisma's: SHA-256 of migration.sql), and no
 * migration is left half-applied. Then the schema engine has nothing to do and is not loaded: its
 * WebAssembly took about a third of a warm start and stayed in memory afterwards.
 */
async function upToDate(client: pg.Client, list: ReturnType<typeof readMigrations>): Promise<boolean> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('_prisma_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return false;
  const { rows } = await client.query<{ name: string; checksum: string; done: boolean }>(
    'SELECT migration_name AS name, checksum, finished_at IS NOT NULL AS done FROM _prisma_migrations WHERE rolled_back_at IS NULL',
  );
  if (rows.some((r) => !r.done)) return false;
  const applied = new Map(rows.map((r) => [r.name, r.checksum]));
  return list.migrationDirectories.every((m) => {
    const file = m.migrationFile.content;
    return file.tag === 'ok' && applied.get(m.path) === createHash('sha256').update(file.value).digest('hex');
  });
}

/** Applies every unapplied migration; returns the names applied. */
export async function applyMigrations(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  return withMigrationLock(databaseUrl, async (client) => {
    const migrationsList = readMigrations(dir);
    if (await upToDate(client, migrationsList)) return [];
    const { engine, close } = await openSchemaEngine(databaseUrl);
    try {
      const out = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
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
