/** Databases as an earlier release left them, for upgrade tests. */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { applyMigrations } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/prisma.js';
import { MIGRATIONS_DIR } from '../../src/db/schema-engine.js';
import { emptyDatabase } from './database.js';

/** A temporary folder with every migration up to and including `last` (and the lock file), removed when the calling test finishes. */
export function migrationsThrough(last: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-prev-migrations-'));
  for (const entry of readdirSync(MIGRATIONS_DIR)) {
    if (entry === 'migration_lock.toml' || entry <= last) cpSync(path.join(MIGRATIONS_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A new database migrated as the release ending with `previousRelease` left it, with the app's
 * clients on it; both go when the calling test finishes. `upgrade()` applies this checkout's
 * migrations and returns the names of those it applied, in order.
 */
export async function databaseOfRelease(previousRelease: string) {
  const db = await emptyDatabase();
  const applied = await applyMigrations(db.url, migrationsThrough(previousRelease)).catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  if (applied.at(-1) !== previousRelease) {
    await db.drop();
    throw new Error(`the migrations end with ${String(applied.at(-1))}, not ${previousRelease}`);
  }
  const clients = createDatabase(db.url, 2);
  onTestFinished(async () => {
    await clients.close();
    await db.drop();
  });
  return {
    url: db.url,
    clients,
    q: (text: string, values: unknown[] = []) => clients.pool.query(text, values),
    upgrade: () => applyMigrations(db.url),
  };
}
