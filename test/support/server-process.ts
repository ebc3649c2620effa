/**
 * Latchkey as a real process (`node --import tsx src/server.ts`, as `npm start` runs it from source)
 * against a PostgreSQL of the test's own, for tests that stop the database or kill the process. The
 * project and its key are made with the server's own secrets, which the test passes in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/prisma.js';
import { createCrypto } from '../../src/lib/crypto.js';
import { auditRepository } from '../../src/modules/audit/audit.repository.js';
import { projectsRepository } from '../../src/modules/projects/projects.repository.js';
import { projectsService } from '../../src/modules/projects/projects.service.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Fixed secrets for the process, and the same secrets as the crypto module wants them. */
export function processSecrets() {
  const hmac = randomBytes(32);
  const key = randomBytes(32);
  return {
    env: { LATCHKEY_HMAC_SECRET: hmac.toString('base64'), LATCHKEY_ENCRYPTION_KEYS: `p1:${key.toString('base64')}` },
    crypto: createCrypto({ hmacSecret: hmac, encryptionKeys: new Map([['p1', key]]), activeKeyId: 'p1' }),
  };
}

/** Migrates the database and creates a project; returns its API key. */
export async function seedProject(databaseUrl: string, secrets: ReturnType<typeof processSecrets>): Promise<string> {
  await applyMigrations(databaseUrl);
  const clients = createDatabase(databaseUrl, 1);
  try {
    const projects = projectsService({ repo: projectsRepository(clients.db), crypto: secrets.crypto, cacheMs: 0, audit: { record: auditRepository(clients.db, clients.pool).recordIn } });
    return (await projects.createProject(`p-${randomBytes(3).toString('hex')}`)).apiKey;
  } finally {
    await clients.close();
  }
}

export type ServerProcess = {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string | null>;
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
};

/** `nodeArgs` go before the entry point (e.g. a preload with `--import`). */
export async function startServerProcess(env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', MIGRATE_ON_START: 'false', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const p: ServerProcess = {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    async waitFor(re, ms = 45_000) {
      const until = Date.now() + ms;
      while (!re.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited: ${out}`);
        if (Date.now() > until) throw new Error(`timed out waiting for ${re}: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  await p.waitFor(/listening on/);
  return p;
}
