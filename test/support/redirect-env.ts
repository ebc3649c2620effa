/**
 * A Latchkey listening on a loopback port (its publicUrl is that address, so providers can send the
 * browser back to it), with helpers for project-owned toolkits and auth configs of the redirect
 * schemes beyond OAuth2 (OAUTH1, DCR_OAUTH, CIMD_OAUTH).
 */
import { expect } from 'vitest';
import type { AppConfig } from '../../src/app.js';
import { freePort } from '../../src/db/embedded.js';
import { type TestContext, createTestContext } from './context.js';

export const V = '/api/v3.1';

export type RedirectEnv = {
  ctx: TestContext;
  /** Where the app listens, and its publicUrl. */
  baseUrl: string;
  /** The configuration it was built with (for another replica of it). */
  config?: Partial<AppConfig>;
};

export async function startRedirectEnv(config: Partial<AppConfig> = {}): Promise<RedirectEnv> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const full = { OAUTH_ALLOW_INSECURE_LOOPBACK: true, publicUrl: baseUrl, ...config };
  const ctx = await createTestContext({ config: full });
  await ctx.app.listen({ host: '127.0.0.1', port });
  return { ctx, baseUrl, config: full };
}

export const call = (env: RedirectEnv, apiKey = env.ctx.apiKey) => ({
  get: (path: string) => env.ctx.http.get(`${V}${path}`).set('x-api-key', apiKey),
  post: (path: string, body?: object) => {
    const req = env.ctx.http.post(`${V}${path}`).set('x-api-key', apiKey);
    return body ? req.send(body) : req;
  },
  patch: (path: string, body: object) => env.ctx.http.patch(`${V}${path}`).set('x-api-key', apiKey).send(body),
});

export const field = (name: string, o: { secret?: boolean; required?: boolean } = {}) => ({
  name,
  displayName: name,
  type: 'string',
  description: `The ${name}.`,
  required: o.required ?? true,
  is_secret: o.secret ?? false,
});

/** A project toolkit for a provider on loopback: its pages and API under `providerUrl`, one auth scheme. */
export function loopbackToolkit<S extends object>(t: { slug: string; name: string; description: string; providerUrl: string; scheme: S }) {
  const url = t.providerUrl;
  return {
    slug: t.slug,
    name: t.name,
    description: t.description,
    logo: `${url}/logo.svg`,
    app_url: url,
    docs_url: url,
    categories: [{ slug: 'testing', name: 'Testing' }],
    base_url: `${url}/api`,
    auth_schemes: [t.scheme],
  };
}

/** A project toolkit with one OAUTH1 scheme against a loopback provider (test/support/oauth1-provider.ts). */
export function oauth1Toolkit(slug: string, providerUrl: string, signatureMethod = 'HMAC-SHA1') {
  return loopbackToolkit({
    slug,
    name: `OAuth1 ${slug}`,
    description: 'A loopback OAuth 1.0a provider.',
    providerUrl,
    scheme: {
      mode: 'OAUTH1',
      name: 'OAuth 1.0a',
      fields: {
        auth_config_creation: [
          field('consumer_key'),
          field('consumer_secret', { secret: true, required: false }),
          field('private_key', { secret: true, required: false }),
          field('signature_method', { required: false }),
        ],
        connected_account_initiation: [],
      },
      oauth1: {
        request_token_url: `${providerUrl}/oauth/request_token`,
        authorize_url: `${providerUrl}/oauth/authorize`,
        access_token_url: `${providerUrl}/oauth/access_token`,
        signature_method: signatureMethod,
      },
    },
  });
}

export async function createToolkit(env: RedirectEnv, def: object, apiKey = env.ctx.apiKey) {
  const res = await call(env, apiKey).post('/custom_toolkits', def);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

export async function createAuthConfig(env: RedirectEnv, slug: string, authScheme: string, credentials: Record<string, unknown>, apiKey = env.ctx.apiKey): Promise<string> {
  const res = await call(env, apiKey).post('/auth_configs', { toolkit: { slug }, auth_config: { type: 'use_custom_auth', authScheme, credentials } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { auth_config: { id: string } }).auth_config.id;
}

export type CreatedAccount = { id: string; status: string; redirect_url: string; connectionData: { authScheme: string; val: Record<string, unknown> } };
export type Account = { id: string; status: string; status_reason: string | null; state: { authScheme: string; val: Record<string, unknown> } };

/** POST /connected_accounts for user `ada` with a redirect scheme's auth config: 201, the account as created. */
export async function initiateAccount(env: RedirectEnv, authConfigId: string, o: { connection?: Record<string, unknown>; apiKey?: string } = {}) {
  const res = await call(env, o.apiKey).post('/connected_accounts', { auth_config: { id: authConfigId }, connection: { user_id: 'ada', ...o.connection } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as CreatedAccount;
}

/** GET /connected_accounts/{id}: 200, the account. */
export async function readAccount(env: RedirectEnv, id: string) {
  const res = await call(env).get(`/connected_accounts/${id}`);
  expect(res.status).toBe(200);
  return res.body as Account;
}

/** The user approves at the provider (it redirects at once); the browser lands on Latchkey's callback. */
export async function consentAndReturn(redirectUrl: string) {
  const atProvider = await visit(redirectUrl);
  expect(atProvider.status, atProvider.text).toBe(302);
  return visit(atProvider.location!);
}

/** A URL visited without following redirects, as the browser's first hop. */
export async function visit(url: URL | string) {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

export const accountCount = async (env: RedirectEnv) =>
  Number((await env.ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
