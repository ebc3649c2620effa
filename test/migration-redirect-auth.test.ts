/**
 * The upgrade path of 20261202064625_redirect_auth_modes: a database at the previous migration,
 * with a project in it, upgrades without losing it; the project starts with verified callbacks off,
 * and the new tables take rows (and go with their project or account).
 */
import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../src/db/migrate.js';
import { MIGRATIONS_DIR } from '../src/db/schema-engine.js';
import { emptyDatabase } from './support/database.js';

const THIS = '20261202064625_redirect_auth_modes';
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const d of drops) await d();
});

describe(`migration ${THIS}`, () => {
  it('upgrades a database holding a project: kept, verifier off, new tables usable', async () => {
    const db = await emptyDatabase();
    drops.push(db.drop);
    // The migrations before this one, as an older Latchkey shipped them.
    const older = mkdtempSync(path.join(os.tmpdir(), 'latchkey-older-'));
    for (const name of readdirSync(MIGRATIONS_DIR)) {
      if (name < THIS || !/^\d{14}_/.test(name)) cpSync(path.join(MIGRATIONS_DIR, name), path.join(older, name), { recursive: true });
    }
    const before = await applyMigrations(db.url, older);
    expect(before).not.toContain(THIS);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`INSERT INTO projects (id, name, updated_at) VALUES ('proj_upgrade01', 'upgrade', now())`);
      expect(await applyMigrations(db.url)).toContain(THIS);

      const { rows } = await c.query('SELECT name, callback_verifier_url FROM projects WHERE id = $1', ['proj_upgrade01']);
      expect(rows).toEqual([{ name: 'upgrade', callback_verifier_url: null }]);

      await c.query(`INSERT INTO registered_clients (id, project_id, issuer, redirect_uri, client_id, token_endpoint_auth_method, server_metadata)
                     VALUES ('rc_upgrade01', 'proj_upgrade01', 'https://as.example', 'https://lk.example/cb', 'c1', 'none', '{}')`);
      // One registration per project, server and redirect URI.
      await expect(
        c.query(`INSERT INTO registered_clients (id, project_id, issuer, redirect_uri, client_id, token_endpoint_auth_method, server_metadata)
                 VALUES ('rc_upgrade02', 'proj_upgrade01', 'https://as.example', 'https://lk.example/cb', 'c2', 'none', '{}')`),
      ).rejects.toMatchObject({ code: '23505' });
      const sessions = await c.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'callback_sessions' ORDER BY column_name`);
      expect(sessions.rows.map((r: { column_name: string }) => r.column_name)).toEqual(
        ['account_id', 'created_at', 'expires_at', 'hash', 'id', 'pending_grant', 'project_id', 'used_at', 'user_id'],
      );
      await c.query(`DELETE FROM projects WHERE id = 'proj_upgrade01'`);
      expect((await c.query('SELECT count(*)::int AS n FROM registered_clients')).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  });
});
