/**
 * The server as a user runs it: a real process, started the way `npm start` starts it (from source
 * here, through tsx), with nothing configured, then with a DATABASE_URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { freshDatabase } from './support/database.js';

const root = path.resolve(import.meta.dirname, '..');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Proc = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

function start(env: Record<string, string>): Proc {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}

async function waitFor(p: Proc, re: RegExp, ms = 120_000) {
  const until = Date.now() + ms;
  while (!re.test(p.output())) {
    if (p.child.exitCode !== null) throw new Error(`server exited: ${p.output()}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${re}: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

// Each test starts whole server processes (the first, embedded PostgreSQL twice): on a busy machine
// that outlasts the default timeout; the waits inside bound each step.
describe('npm start', { timeout: 300_000 }, () => {
  it('with nothing configured: embedded PostgreSQL, a default project whose key is printed once, data kept across restarts', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-start-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = { LATCHKEY_DATA_DIR: dataDir, PORT: String(port) };

    const first = start(env);
    await waitFor(first, /listening on/);
    const key = /x-api-key: (ak_[A-Za-z0-9]+)/.exec(first.output())?.[1];
    expect(key).toBeDefined();
    expect(first.output()).toMatch(/development only/);
    expect(statSync(path.join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);

    const base = `http://127.0.0.1:${port}`;
    const ok = await fetch(`${base}/api/v3.1/toolkits/github`, { headers: { 'x-api-key': key! } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { slug: string }).slug).toBe('github');
    const denied = await fetch(`${base}/api/v3.1/toolkits/github`);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { status: number } }).error.status).toBe(401);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const pgPort = (JSON.parse((await import('node:fs')).readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number }).port;
    expect(await portOpen(pgPort)).toBe(true);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(await portOpen(pgPort)).toBe(false); // the embedded server stopped too

    const second = start(env);
    await waitFor(second, /listening on/);
    expect(second.output()).not.toMatch(/x-api-key: ak_/); // no second default project
    const again = await fetch(`${base}/api/v3.1/toolkits/github`, { headers: { 'x-api-key': key! } });
    expect(again.status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('with DATABASE_URL: uses that server, starts nothing, prints no key', async () => {
    const db = await freshDatabase();
    cleanups.push(db.drop);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-start-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const p = start({ DATABASE_URL: db.url, LATCHKEY_DATA_DIR: dataDir, PORT: String(port) });
    await waitFor(p, /listening on/);
    expect(p.output()).not.toMatch(/embedded PostgreSQL/);
    expect(p.output()).not.toMatch(/x-api-key: ak_/);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('refuses to start in production without secrets, saying which', async () => {
    const p = start({ NODE_ENV: 'production', PORT: '0' });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/LATCHKEY_HMAC_SECRET is required in production/);
  });
});
