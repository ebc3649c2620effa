/** The migrations folder as an earlier release shipped it, for upgrade tests. */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../../src/db/schema-engine.js';

/** A temporary folder with every migration up to and including `last` (and the lock file); `remove` deletes it. */
export function migrationsThrough(last: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-prev-migrations-'));
  for (const entry of readdirSync(MIGRATIONS_DIR)) {
    if (entry === 'migration_lock.toml' || entry <= last) cpSync(path.join(MIGRATIONS_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
