/**
 * Death in the middle of a write leaves nothing half-written. A test connection holds a table lock
 * so that Latchkey's write stops exactly mid-transaction (its first statement done, the next one
 * waiting), then the database is stopped, or the Latchkey process is SIGKILLed. After restart the
 * database holds whole writes only: no account without its OAuth attempt, no account change without
 * its outbox event, no event without its account, and the interrupted flow can be completed.
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeToolkit, CLIENT } from './support/oauth-app.js';
import { type MockProvider, startProvider } from './support/oauth-server.js';
import { type ServerProcess, processSecrets, seedProject, startServerProcess } from './support/server-process.js';
import { type PrivatePostgres, startPrivatePostgres } from './support/private-postgres.js';

const V = '/api/v3.1';
let pgServer: PrivatePostgres;
let server: ServerProcess;
let provider: MockProvider;
let apiKey: string;
let configId: string;
let env: Record<string, string>;

beforeAll(async () => {
  pgServer = await startPrivatePostgres('crash');
  const secrets = processSecrets();
  apiKey = await seedProject(pgServer.url, secrets);
  provider = await startProvider();
  env = { DATABASE_URL: pgServer.url, JOBS_ENABLED: 'false', OAUTH_ALLOW_INSECURE_LOOPBACK: 'true', LATCHKEY_DATA_DIR: path.join(pgServer.dir, 'data'), API_KEY_CACHE_MS: '0', ...secrets.env };
  server = await startServerProcess(env);
  expect((await api('POST', '/custom_toolkits', acmeToolkit(provider.issuer))).status).toBe(201);
  const cfg = await api('POST', '/auth_configs', { toolkit: { slug: 'acme' }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: CLIENT } });
  expect(cfg.status).toBe(201);
  configId = (cfg.body as { auth_config: { id: string } }).auth_config.id;
}, 120_000);

afterAll(async () => {
  await server?.kill('SIGKILL');
  await provider?.stop?.();
  await pgServer?.destroy();
});

async function api(method: string, route: string, body?: object) {
  const res = await fetch(`${server.baseUrl}${V}${route}`, {
    method,
    headers: { 'x-api-key': apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A connection of the test's own that holds `table` locked against writes until released. */
async function lockTable(table: string) {
  const c = new pg.Client({ connectionString: pgServer.url });
  c.on('error', () => {}); // the database may be stopped under it
  await c.connect();
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
  return {
    /** Resolves once a Latchkey backend is waiting for this lock, i.e. stopped inside its transaction. */
    waitForBlocked: async () => {
      const until = Date.now() + 20_000;
      for (;;) {
        await c.query('SELECT pg_stat_clear_snapshot()'); // inside a transaction the view is otherwise frozen
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND state = 'active'`,
        );
        if (rows[0]!.n > 0) return;
        if (Date.now() > until) throw new Error(`no write blocked on ${table}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    release: () => c.end().catch(() => {}),
  };
}

/** Rows that would mean a write was cut in half. */
async function halfWritten() {
  const c = new pg.Client({ connectionString: pgServer.url });
  await c.connect();
  try {
    const q = async (sql: string) => (await c.query<{ id: string }>(sql)).rows.map((r) => r.id);
    return {
      accountsWithoutAttempt: await q(
        `SELECT a.id FROM connected_accounts a WHERE a.auth_scheme = 'OAUTH2' AND a.status = 'INITIATED'
            AND NOT EXISTS (SELECT 1 FROM oauth_attempts t WHERE t.account_id = a.id)`,
      ),
      accountsWithoutCreatedEvent: await q(
        `SELECT a.id FROM connected_accounts a
          WHERE NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.account_id = a.id AND e.type = 'composio.connected_account.created')`,
      ),
      activeWithoutActivatedEvent: await q(
        `SELECT a.id FROM connected_accounts a WHERE a.status = 'ACTIVE'
            AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.account_id = a.id AND e.type = 'composio.connected_account.activated')`,
      ),
      eventsWithoutAccount: await q(
        `SELECT e.id FROM webhook_events e WHERE e.account_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM connected_accounts a WHERE a.id = e.account_id)`,
      ),
      accounts: await q(`SELECT id FROM connected_accounts`),
    };
  } finally {
    await c.end();
  }
}

const none = { accountsWithoutAttempt: [], accountsWithoutCreatedEvent: [], activeWithoutActivatedEvent: [], eventsWithoutAccount: [] };
const initiate = (userId: string) => api('POST', '/connected_accounts', { auth_config: { id: configId }, connection: { user_id: userId } });

describe('dying mid-transaction', () => {
  it('the database stops in the middle of an OAuth create: the account and its attempt land whole or not at all', async () => {
    const before = (await halfWritten()).accounts;
    // The account row is written first, then its attempt: hold the attempts table.
    const lock = await lockTable('oauth_attempts');
    const pending = initiate('user-db-dies');
    await lock.waitForBlocked().catch(async (err: unknown) => (await lock.release(), Promise.reject(err)));
    await pgServer.stop();
    const res = await pending;
    await lock.release();
    // Back first, whatever happened, so a failed assertion below cannot leave the next test without a database.
    await pgServer.restart();
    const after = await halfWritten();
    expect({ ...after, accounts: undefined }).toEqual({ ...none, accounts: undefined });
    if (res.status === 201) {
      // The shutdown ends the lock holder's session too: Latchkey's write may win that race and commit,
      // and then it is whole (the account with its attempt and its event, checked above).
      expect(new Set(after.accounts)).toEqual(new Set([...before, (res.body as { id: string }).id]));
    } else {
      expect(res.status).toBe(503);
      expect((res.body as { error: { slug: string } }).error.slug).toBe('Database_Unavailable');
      expect(new Set(after.accounts)).toEqual(new Set(before));
    }
    // The same Latchkey process carries on.
    await expect.poll(async () => (await initiate('user-db-back')).status, { timeout: 20_000, interval: 250 }).toBe(201);
    expect(server.child.exitCode).toBeNull();
  }, 90_000);

  it('Latchkey is killed in the middle of an OAuth callback: the account changes whole (with its event) or not at all, and can be re-authorised', async () => {
    const created = await initiate('user-process-dies');
    expect(created.status).toBe(201);
    const { id, redirect_url: redirectUrl } = created.body as { id: string; redirect_url: string };
    // The user consents at the provider; the browser is sent back to Latchkey's callback.
    const consent = await fetch(redirectUrl, { redirect: 'manual' });
    const callback = consent.headers.get('location')!;

    // The callback's write (ACTIVE, with its outbox event written by the same statement) waits on
    // the events table; the process dies right there.
    const lock = await lockTable('webhook_events');
    const landing = fetch(callback, { redirect: 'manual' }).catch((err: unknown) => err);
    await lock.waitForBlocked().catch(async (err: unknown) => (await lock.release(), Promise.reject(err)));
    await server.kill('SIGKILL');
    await landing;
    await lock.release();

    const after = await halfWritten();
    expect({ ...after, accounts: undefined }).toEqual({ ...none, accounts: undefined });
    // The callback's write is one statement (the account update, whose trigger writes the event):
    // it lands whole or not at all. Whichever it was, the account and its events agree.
    const c = new pg.Client({ connectionString: pgServer.url });
    await c.connect();
    const row = (await c.query<{ status: string }>('SELECT status FROM connected_accounts WHERE id = $1', [id])).rows[0]!;
    const activated = (await c.query(`SELECT 1 FROM webhook_events WHERE account_id = $1 AND type = 'composio.connected_account.activated'`, [id])).rowCount;
    await c.end();
    expect(['INITIATED', 'ACTIVE']).toContain(row.status);
    expect(activated).toBe(row.status === 'ACTIVE' ? 1 : 0);

    // A new process; the user goes through OAuth again for the same account and it becomes ACTIVE.
    server = await startServerProcess(env);
    const again = await api('POST', `/connected_accounts/${id}/refresh`);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const next = (again.body as { redirect_url: string }).redirect_url;
    const back = await fetch(next, { redirect: 'manual' });
    const landed = await fetch(back.headers.get('location')!, { redirect: 'manual' });
    expect(landed.status).toBe(200);
    expect(((await api('GET', `/connected_accounts/${id}`)).body as { status: string }).status).toBe('ACTIVE');
    expect({ ...(await halfWritten()), accounts: undefined }).toEqual({ ...none, accounts: undefined });
  }, 90_000);
});
