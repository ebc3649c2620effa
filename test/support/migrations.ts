/** The migrations folder as an earlier release shipped it, for upgrade tests. */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/schema-engine.js';

/** A temporary folder with every migration up to and including `last` (and the lock file), removed when the calling test finishes. */
export function migrationsThrough(last: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-prev-migrations-'));
  for (const entry of readdirSync(MIGRATIONS_DIR)) {
    if (entry === 'migration_lock.toml' || entry <= last) cpSync(path.join(MIGRATIONS_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
