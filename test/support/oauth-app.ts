/**
 * Latchkey listening on a loopback port with an OAuth2 toolkit ("acme") pointed at a MockProvider,
 * a custom OAUTH2 auth config for it, and the helpers a test needs to play the user's browser
 * (follow the authorize URL, land on the callback) and to look at the stored account.
 */
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { type AppConfig, buildApp } from '../../src/app.js';
import { createDatabase } from '../../src/db/prisma.js';
import { createCrypto } from '../../src/lib/crypto.js';
import { TEST_CONFIG, TEST_SECRETS } from './context.js';
import type { MockProvider } from './oauth-server.js';
import { type RedirectEnv, V, createAuthConfig, createToolkit, field, loopbackToolkit, startRedirectEnv } from './redirect-env.js';

export { V };
export const CALLBACK_PATH = '/api/v3/toolkits/auth/callback';
export const CLIENT = { client_id: 'acme-client-id', client_secret: 'acme-client-secret-9f8e7d' };

export type OAuthEnv = RedirectEnv & {
  authConfigId: string;
  provider: MockProvider;
};

export function acmeToolkit(issuer: string) {
  return loopbackToolkit({
    slug: 'acme',
    name: 'Acme',
    description: 'A test OAuth 2.0 provider (oauth2-mock-server).',
    providerUrl: issuer,
    scheme: {
      mode: 'OAUTH2',
      name: 'Acme OAuth',
      fields: { auth_config_creation: [field('client_id'), field('client_secret', { secret: true })], connected_account_initiation: [] },
      oauth2: {
        authorization_url: `${issuer}/authorize`,
        token_url: `${issuer}/token`,
        revocation_url: `${issuer}/revoke`,
        default_scopes: ['openid', 'offline_access'],
        pkce: true,
      },
      request_auth: [{ in: 'header', name: 'Authorization', value: 'Bearer {{access_token}}' }],
    },
  });
}

/** A Latchkey whose publicUrl is its own listening address, with the acme toolkit and an auth config. */
export async function startOAuthEnv(provider: MockProvider, config: Partial<AppConfig> = {}): Promise<OAuthEnv> {
  const env = await startRedirectEnv(config);
  await createToolkit(env, acmeToolkit(provider.issuer));
  return { ...env, authConfigId: await createAuthConfig(env, 'acme', 'OAUTH2', CLIENT), provider };
}

/** Another replica of the same Latchkey: its own app, pool and process state, the same database. */
export async function startReplica(env: OAuthEnv) {
  const clients = createDatabase(env.ctx.databaseUrl, 5);
  const chunks: string[] = [];
  const logStream = new Writable({ write: (c, _e, cb) => void (chunks.push(String(c)), cb()) });
  const app = await buildApp({ config: { ...TEST_CONFIG, ...env.config }, db: clients.db, pool: clients.pool, crypto: createCrypto(TEST_SECRETS), logStream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    logs: () => chunks.join(''),
    close: async () => {
      await app.close();
      await clients.close();
    },
  };
}

// ---- the API ---------------------------------------------------------------------------------------

export type Account = {
  id: string;
  status: string;
  status_reason: string | null;
  state: { authScheme: string; val: Record<string, unknown> };
};

export const api = (env: OAuthEnv) => ({
  get: (path: string) => env.ctx.http.get(`${V}${path}`).set('x-api-key', env.ctx.apiKey),
  post: (path: string, body?: object) => {
    const req = env.ctx.http.post(`${V}${path}`).set('x-api-key', env.ctx.apiKey);
    return body ? req.send(body) : req;
  },
  delete: (path: string) => env.ctx.http.delete(`${V}${path}`).set('x-api-key', env.ctx.apiKey),
});

export async function getAccount(env: OAuthEnv, id: string): Promise<Account> {
  const res = await api(env).get(`/connected_accounts/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Account;
}

/** POST /connected_accounts for the acme auth config: the account id and the provider URL to visit. */
export async function initiate(env: OAuthEnv, connection: Record<string, unknown> = {}) {
  const res = await api(env).post('/connected_accounts', { auth_config: { id: env.authConfigId }, connection: { user_id: 'user-1', ...connection } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const body = res.body as { id: string; status: string; redirect_url: string; connectionData: { val: { redirectUrl: string } } };
  return { id: body.id, redirectUrl: body.redirect_url, body };
}

// ---- the user's browser ----------------------------------------------------------------------------

/** Visits the provider's authorize URL (the user consents) and returns where it sends the browser back. */
export async function consent(redirectUrl: string): Promise<URL> {
  const res = await fetch(redirectUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

/** Lands on a URL without following redirects, as the browser's first hop. */
export async function visit(url: URL | string) {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), headers: res.headers, text: await res.text() };
}

/** The whole browser part: consent at the provider, then the callback on Latchkey. */
export async function completeConsent(redirectUrl: string) {
  return visit(await consent(redirectUrl));
}

/** A new ACTIVE account. */
export async function connect(env: OAuthEnv, connection: Record<string, unknown> = {}) {
  const { id, redirectUrl } = await initiate(env, connection);
  const landed = await completeConsent(redirectUrl);
  expect(landed.status, landed.text).toBe(connection.callback_url ? 302 : 200);
  const account = await getAccount(env, id);
  expect(account.status).toBe('ACTIVE');
  return { id, account };
}

// ---- the stored row --------------------------------------------------------------------------------

export type StoredRow = {
  status: string;
  status_reason: string | null;
  state: string;
  token_expires_at: Date | null;
  refresh_failures: number;
  next_refresh_at: Date | null;
  refresh_lease_until: Date | null;
  deleted_at: Date | null;
};

export async function storedRow(env: OAuthEnv, id: string): Promise<StoredRow> {
  const { rows } = await env.ctx.pool.query<StoredRow>(
    `SELECT status, status_reason, state, token_expires_at, refresh_failures, next_refresh_at, refresh_lease_until, deleted_at
       FROM connected_accounts WHERE id = $1`,
    [id],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** Makes the stored access token expired, as time passing would. */
export async function expireToken(env: OAuthEnv, id: string) {
  await env.ctx.pool.query(`UPDATE connected_accounts SET token_expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
}

export const accountCount = async (env: OAuthEnv) =>
  Number((await env.ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
