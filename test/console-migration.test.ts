/**
 * The upgrade path to the console's tables: a database migrated to the release before them, with
 * data in it, takes the console migration alone; the data is untouched and the new tables keep
 * their rules (one operator per address, sessions and links go with their operator).
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../src/db/migrate.js';
import { MIGRATIONS_DIR } from '../src/db/schema-engine.js';
import { emptyDatabase } from './support/database.js';

const CONSOLE_MIGRATION = '20261202064557_console_users';
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const d of drops) await d();
});

describe('migration to the console tables', () => {
  it('applies to a database with data, alone, keeping the data', async () => {
    const db = await emptyDatabase();
    drops.push(db.drop);
    // The migrations as they were before the console's (in a scratch copy of the folder).
    const before = mkdtempSync(path.join(os.tmpdir(), 'latchkey-before-console-'));
    drops.push(async () => rmSync(before, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, before, { recursive: true });
    const all = readdirSync(MIGRATIONS_DIR).filter((n) => /^\d{14}_/.test(n)).sort();
    expect(all).toContain(CONSOLE_MIGRATION);
    for (const name of all.filter((n) => n >= CONSOLE_MIGRATION)) rmSync(path.join(before, name), { recursive: true });
    await applyMigrations(db.url, before);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query("INSERT INTO projects (id, name, updated_at) VALUES ('proj_upgrade0001', 'kept', now())");
      await c.query("INSERT INTO api_keys (id, project_id, name, prefix, hash) VALUES ('key_upgrade0001', 'proj_upgrade0001', 'k', 'ak_abcd', '\\x01')");

      const applied = await applyMigrations(db.url);
      expect(applied[0]).toBe(CONSOLE_MIGRATION);
      expect(applied.every((n) => n >= CONSOLE_MIGRATION)).toBe(true);

      expect((await c.query('SELECT name FROM projects')).rows).toEqual([{ name: 'kept' }]);
      expect((await c.query('SELECT id FROM api_keys')).rows).toEqual([{ id: 'key_upgrade0001' }]);

      await c.query("INSERT INTO console_users (id, email) VALUES ('cu_upgrade0001', 'ops@example.com')");
      await expect(c.query("INSERT INTO console_users (id, email) VALUES ('cu_upgrade0002', 'ops@example.com')")).rejects.toThrow(/console_users_email_key/);
      await c.query("INSERT INTO console_sessions (id, user_id, token_hash, last_seen_at, expires_at) VALUES ('cs_upgrade0001', 'cu_upgrade0001', '\\x02', now(), now() + interval '1 hour')");
      await c.query("INSERT INTO console_sign_in_links (id, user_id, token_hash, expires_at) VALUES ('csl_upgrade0001', 'cu_upgrade0001', '\\x03', now() + interval '1 hour')");
      await c.query("DELETE FROM console_users WHERE id = 'cu_upgrade0001'");
      expect((await c.query('SELECT count(*)::int AS n FROM console_sessions')).rows[0]).toEqual({ n: 0 });
      expect((await c.query('SELECT count(*)::int AS n FROM console_sign_in_links')).rows[0]).toEqual({ n: 0 });
    } finally {
      await c.end();
    }
  });
});
