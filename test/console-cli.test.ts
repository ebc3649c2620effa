/**
 * `latchkey console-users` as an operator runs it (a real process on the test's database, with the
 * server's secrets): add prints a working one-time link, passwords come from standard input and are
 * checked, list and disable say what they did.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/prisma.js';
import { withDefaults } from '../src/lib/config.js';
import { consoleAuthFrom } from '../src/modules/console/console.wiring.js';
import { freshDatabase } from './support/database.js';
import { processSecrets } from './support/server-process.js';

const root = path.resolve(import.meta.dirname, '..');
const secrets = processSecrets();
let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(() => database?.drop());

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...secrets.env, DATABASE_URL: database.url, PUBLIC_URL: 'https://latchkey.example.com', LOG_LEVEL: 'silent' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('latchkey console-users', () => {
  it('adds an operator with a password from standard input and prints a one-time link that works', async () => {
    const added = await cli(['console-users', 'add', 'Ops@Example.com', '--password'], 'a long operator password\n');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^console user: cu_[0-9A-Za-z]+ \(ops@example\.com\), password set$/m);
    const url = /sign-in link: (https:\/\/latchkey\.example\.com\/console\/sign-in\/(csi_[0-9A-Za-z]{40}))/.exec(added.stdout);
    expect(url).not.toBeNull();

    const clients = createDatabase(database.url, 1);
    try {
      const auth = consoleAuthFrom({ db: clients.db, crypto: secrets.crypto, config: withDefaults({ publicUrl: 'https://latchkey.example.com' }) });
      expect(await auth.linkUsable(url![2]!)).toBe(true);
      expect(await auth.signInWithPassword('ops@example.com', 'a long operator password')).toMatch(/^cst_/);
    } finally {
      await clients.close();
    }
    // The password never appears in what the command printed.
    expect(added.stdout + added.stderr).not.toContain('a long operator password');
  });

  it('refuses a short password, a second account for the same address, and says so', async () => {
    const short = await cli(['console-users', 'set-password', 'ops@example.com'], 'short\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 12 characters');
    const twice = await cli(['console-users', 'add', 'ops@example.com']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('already a console user');
  });

  it('lists operators and disables one', async () => {
    expect((await cli(['console-users', 'disable', 'ops@example.com'])).stdout).toContain('ops@example.com disabled');
    const list = await cli(['console-users', 'list']);
    expect(list.stdout).toMatch(/^cu_[0-9A-Za-z]+\tops@example\.com\tpassword\tdisabled \d{4}-/m);
  });
});
