import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations, pendingSchemaChanges } from '../src/db/migrate.js';
import { MIGRATIONS_DIR, SCHEMA_PATH } from '../src/db/schema-engine.js';
import { emptyDatabase } from './support/database.js';

const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const d of drops) await d();
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('migrations', () => {
  it("apply to an empty database with Prisma's _prisma_migrations bookkeeping, once", async () => {
    const db = await emptyDatabase();
    drops.push(db.drop);
    const applied = await applyMigrations(db.url);
    expect(applied.length).toBeGreaterThan(0);
    const rows = await query<{ migration_name: string; finished_at: Date | null }>(db.url, 'SELECT migration_name, finished_at FROM _prisma_migrations');
    expect(rows.map((r) => r.migration_name).sort()).toEqual(applied.sort());
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    const tables = await query<{ tablename: string }>(db.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(['projects', 'api_keys', 'custom_toolkits']));
    expect(await applyMigrations(db.url)).toEqual([]);
  });

  it('an up-to-date database skips the engine, but a new migration in the folder is still applied', async () => {
    const db = await emptyDatabase();
    drops.push(db.drop);
    const names = readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    // The folder as of one migration ago, then as it is now: the newest one must still be applied.
    const older = mkdtempSync(path.join(os.tmpdir(), 'latchkey-older-'));
    copyFileSync(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(older, 'migration_lock.toml'));
    for (const n of names.slice(0, -1)) cpSync(path.join(MIGRATIONS_DIR, n), path.join(older, n), { recursive: true });
    expect(await applyMigrations(db.url, older)).toEqual(names.slice(0, -1));
    expect(await applyMigrations(db.url, older)).toEqual([]);
    expect(await applyMigrations(db.url)).toEqual(names.slice(-1));
    expect(await applyMigrations(db.url)).toEqual([]);
  });

  it('two servers starting at once: exactly one applies, neither fails', async () => {
    const db = await emptyDatabase();
    drops.push(db.drop);
    const [a, b] = await Promise.all([applyMigrations(db.url), applyMigrations(db.url)]);
    expect([a.length > 0, b.length > 0].filter(Boolean)).toHaveLength(1);
    const rows = await query<{ n: string }>(db.url, 'SELECT count(*)::text AS n FROM _prisma_migrations');
    expect(Number(rows[0]!.n)).toBe(Math.max(a.length, b.length));
  });

  it('the drift check passes for the committed schema and fails for a changed one', async () => {
    const db = await emptyDatabase();
    drops.push(db.drop);
    expect((await pendingSchemaChanges(db.url)).trim()).toBe('');

    const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-drift-'));
    const changed = path.join(dir, 'schema.prisma');
    copyFileSync(SCHEMA_PATH, changed);
    writeFileSync(changed, readFileSync(changed, 'utf8') + '\nmodel DriftProbe {\n  id Int @id\n}\n');
    const sql = await pendingSchemaChanges(db.url, MIGRATIONS_DIR, changed);
    expect(sql).toMatch(/CREATE TABLE "DriftProbe"/);
    // The check leaves no scratch database behind.
    const left = await query<{ datname: string }>(db.url, "SELECT datname FROM pg_database WHERE datname LIKE 'latchkey_scratch_%'");
    expect(left).toEqual([]);
  });
});
