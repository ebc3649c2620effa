/**
 * The upgrade path to sealed proxy files: a database made by the release before sealing (its
 * migrations only) holds a file in plaintext; the real server process starts on it, applies the
 * new migration, seals the file at start-up (the migration cannot: the database never sees the
 * key), and the file still downloads, byte for byte, while its plaintext is gone from the table.
 * During a rolling upgrade an older replica may still write plaintext files: they download as they
 * are, and the maintenance run (the same sealing as at start-up) seals them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/prisma.js';
import { newFileId } from '../src/lib/ids.js';
import { projectsRepository } from '../src/modules/projects/projects.repository.js';
import { projectsService } from '../src/modules/projects/projects.service.js';
import { createTestContext } from './support/context.js';
import { emptyDatabase } from './support/database.js';
import { migrationsThrough } from './support/migrations.js';
import { download } from './support/proxied-file.js';
import { type ServerProcess, processSecrets, startServerProcess } from './support/server-process.js';

/** The last migration of the release that stored proxy files in plaintext. */
const PREVIOUS_RELEASE = '20261202034459_proxy_calls_and_files';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

describe('upgrading to sealed proxy files', () => {
  it('a plaintext file of the previous release is sealed when the server starts, and still downloads', async () => {
    const db = await emptyDatabase();
    cleanups.push(db.drop);
    const applied = await applyMigrations(db.url, migrationsThrough(PREVIOUS_RELEASE));
    expect(applied.at(-1)).toBe(PREVIOUS_RELEASE);

    // The previous release's data: a project with an API key, and a binary response it kept.
    const secrets = processSecrets();
    // Written as the previous release wrote it: this release's client would also write columns the
    // previous schema lacks, so the rows go in with the previous columns only.
    const clients = createDatabase(db.url, 1);
    const previousSchema = {
      ...projectsRepository(clients.db),
      async createProjectWithKey(p: { id: string; name: string }, key: { id: string; name: string; prefix: string; hash: Buffer }, _alongside: unknown) {
        await query(db.url, `INSERT INTO projects (id, name, updated_at) VALUES ($1, $2, now())`, [p.id, p.name]);
        await query(db.url, `INSERT INTO api_keys (id, project_id, name, prefix, hash) VALUES ($1, $2, $3, $4, $5)`, [key.id, p.id, key.name, key.prefix, key.hash]);
        return p;
      },
    } as unknown as ReturnType<typeof projectsRepository>;
    const { project, apiKey } = await projectsService({ repo: previousSchema, crypto: secrets.crypto, cacheMs: 0, audit: { record: async () => undefined } /* that release kept no audit log */ })
      .createProject('upgraded')
      .finally(() => clients.close());
    const body = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]), Buffer.from('PLAINTEXT-BODY-7f3a', 'utf8')]);
    const fileId = newFileId();
    await query(
      db.url,
      `INSERT INTO proxy_files (id, project_id, content_type, size, bytes, expires_at) VALUES ($1, $2, 'image/png', $3, $4, now() + interval '1 hour')`,
      [fileId, project.id, body.length, body],
    );

    // This release starts on it: migrations on start, no jobs (sealing must not wait for maintenance).
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'latchkey-upgrade-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    const server: ServerProcess = await startServerProcess({
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'true',
      JOBS_ENABLED: 'false',
      LATCHKEY_DATA_DIR: path.join(tmp, 'data'),
      ...secrets.env,
    });
    cleanups.push(() => server.kill('SIGTERM'));
    expect(server.output()).toMatch(/sealed proxy files stored in plaintext/);

    // The table no longer holds the body: only its sealed form, under the server's key.
    const rows = await query<{ bytes: Buffer | null; sealed_bytes: string | null }>(db.url, 'SELECT bytes, sealed_bytes FROM proxy_files WHERE id = $1', [fileId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.bytes).toBeNull();
    expect(rows[0]!.sealed_bytes).toMatch(/^lk1\.p1\./);
    for (const form of [body.toString('latin1'), body.toString('base64'), body.toString('base64url'), 'PLAINTEXT-BODY-7f3a']) {
      expect(rows[0]!.sealed_bytes).not.toContain(form);
    }

    // And the file downloads as it was, for its project only.
    const res = await fetch(`${server.baseUrl}/api/v3.1/files/${fileId}`, { headers: { 'x-api-key': apiKey } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
  }, 120_000);

  it('a plaintext file written by an older replica downloads meanwhile; sealing (start-up, maintenance) converts it once', async () => {
    const ctx = await createTestContext();
    cleanups.push(() => ctx.close());
    const body = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x41]);
    const fileId = newFileId();
    await ctx.pool.query(
      `INSERT INTO proxy_files (id, project_id, content_type, size, bytes, expires_at) VALUES ($1, $2, 'application/pdf', $3, $4, now() + interval '1 hour')`,
      [fileId, ctx.projectId, body.length, body],
    );
    const path = `/api/v3.1/files/${fileId}`;
    expect(await download(ctx, path)).toMatchObject({ status: 200, contentType: 'application/pdf', bytes: body });

    expect(await ctx.app.services.proxy.sealPlaintextFiles()).toBe(1);
    const { rows } = await ctx.pool.query<{ bytes: Buffer | null; sealed_bytes: string | null }>('SELECT bytes, sealed_bytes FROM proxy_files WHERE id = $1', [fileId]);
    expect(rows).toEqual([{ bytes: null, sealed_bytes: expect.stringMatching(/^lk1\./) }]);
    expect(await download(ctx, path)).toMatchObject({ status: 200, contentType: 'application/pdf', bytes: body });
    expect(await ctx.app.services.proxy.sealPlaintextFiles()).toBe(0);

    // Sealed to its project and file: moved to another project's row, it does not open there.
    const other = await ctx.newProject();
    await ctx.pool.query('UPDATE proxy_files SET project_id = $1 WHERE id = $2', [other.projectId, fileId]);
    const moved = await download({ http: ctx.http, apiKey: other.apiKey }, path);
    expect(moved.status).toBe(404);
    expect(ctx.logs()).toContain('a proxy file could not be opened with the keyring');
  });
});
