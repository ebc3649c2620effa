/**
 * A Latchkey listening on a loopback port (its publicUrl is that address, so providers can send the
 * browser back to it), with helpers for project-owned toolkits and auth configs of the redirect
 * schemes beyond OAuth2 (OAUTH1, DCR_OAUTH, CIMD_OAUTH).
 */
import net, { type AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { AppConfig } from '../../src/app.js';
import { type TestContext, createTestContext } from './context.js';

export const V = '/api/v3.1';

export type RedirectEnv = { ctx: TestContext; baseUrl: string };

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export async function startRedirectEnv(config: Partial<AppConfig> = {}): Promise<RedirectEnv> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const ctx = await createTestContext({ config: { OAUTH_ALLOW_INSECURE_LOOPBACK: true, publicUrl: baseUrl, ...config } });
  await ctx.app.listen({ host: '127.0.0.1', port });
  return { ctx, baseUrl };
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

/** A project toolkit with one OAUTH1 scheme against a loopback provider (test/support/oauth1-provider.ts). */
export function oauth1Toolkit(slug: string, providerUrl: string, signatureMethod = 'HMAC-SHA1') {
  return {
    slug,
    name: `OAuth1 ${slug}`,
    description: 'A loopback OAuth 1.0a provider.',
    logo: `${providerUrl}/logo.svg`,
    app_url: providerUrl,
    docs_url: providerUrl,
    categories: [{ slug: 'testing', name: 'Testing' }],
    base_url: `${providerUrl}/api`,
    auth_schemes: [
      {
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
    ],
  };
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

/** A URL visited without following redirects, as the browser's first hop. */
export async function visit(url: URL | string) {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

export const accountCount = async (env: RedirectEnv) =>
  Number((await env.ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
