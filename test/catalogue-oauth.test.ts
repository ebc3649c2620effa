/**
 * Real catalogue entries through a real OAuth 2.0 flow. A deterministic sample of verified OAuth2
 * entries is served with only the host of their authorize, token and revocation URLs changed to a
 * loopback front for the in-process provider (oauth2-mock-server): paths, scopes, separators, PKCE,
 * extra parameters and token-endpoint client authentication stay exactly as the entry says. Each
 * entry must produce an authorize request and a token exchange that say what the entry says.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { type AuthSchemeDefinition, type ToolkitDefinition, templateNames } from '../src/modules/toolkits/toolkit-definition.js';
import { type TestContext, createTestContext } from './support/context.js';
import { CALLBACK_PATH, CLIENT } from './support/oauth-app.js';
import { type MockProvider, startProvider } from './support/oauth-server.js';

const V = '/api/v3.1';
const SAMPLE_SIZE = 8;
const catalogue = loadCatalogue();

type Candidate = { t: ToolkitDefinition; s: AuthSchemeDefinition & { oauth2: NonNullable<AuthSchemeDefinition['oauth2']> } };

/** Verified, connectable OAuth2 entries on a fixed host that an end user need not fill anything in for. */
const candidates: Candidate[] = [...catalogue.values()]
  .filter((t) => t.verification?.status === 'verified')
  .flatMap((t) => t.auth_schemes.filter((s) => s.mode === 'OAUTH2' && s.availability === 'available' && s.oauth2).map((s) => ({ t, s }) as Candidate))
  .filter(({ s }) => ![s.oauth2.authorization_url, s.oauth2.token_url].some((u) => templateNames(u).length))
  .filter(({ s }) => !s.fields.connected_account_initiation.some((f) => f.required))
  .sort((a, b) => (a.t.slug < b.t.slug ? -1 : 1));

/**
 * The sample: for each provider quirk, the first entry (by slug) that has it, so every quirk the
 * catalogue uses is exercised; then entries at an even stride until SAMPLE_SIZE. Same catalogue, same sample.
 */
const QUIRKS: [string, (c: Candidate) => boolean][] = [
  ['comma-separated scopes', ({ s }) => s.oauth2.scope_separator === ','],
  ['no PKCE', ({ s }) => !s.oauth2.pkce],
  ['client_secret_basic', ({ s }) => s.oauth2.token_endpoint_auth_method === 'client_secret_basic'],
  ['extra authorize parameters', ({ s }) => Object.keys(s.oauth2.authorize_params).length > 0],
  ['extra token parameters', ({ s }) => Object.keys(s.oauth2.token_params).length > 0],
  ['user scopes', ({ s }) => !!s.oauth2.default_user_scopes?.length],
];
function sampleOf(all: Candidate[]): Candidate[] {
  const picked = new Set<Candidate>();
  for (const [, has] of QUIRKS) {
    const first = all.find(has);
    if (first) picked.add(first);
  }
  const stride = Math.max(1, Math.floor(all.length / SAMPLE_SIZE));
  for (let i = 0; picked.size < Math.min(SAMPLE_SIZE, all.length) && i < all.length; i += stride) picked.add(all[i]!);
  return [...picked].sort((a, b) => (a.t.slug < b.t.slug ? -1 : 1));
}
const sample = sampleOf(candidates);

/** The entry as served in this test: the same, with its OAuth endpoints on `origin`. */
function onHost(t: ToolkitDefinition, origin: string): ToolkitDefinition {
  const move = (u: string | undefined) => (u ? `${origin}${new URL(u).pathname}${new URL(u).search}` : undefined);
  return {
    ...t,
    auth_schemes: t.auth_schemes.map((s) =>
      s.mode === 'OAUTH2' && s.oauth2
        ? {
            ...s,
            oauth2: {
              ...s.oauth2,
              authorization_url: move(s.oauth2.authorization_url)!,
              token_url: move(s.oauth2.token_url)!,
              ...(s.oauth2.revocation_url ? { revocation_url: move(s.oauth2.revocation_url) } : {}),
            },
          }
        : s,
    ),
  };
}

type Seen = { method: string; path: string; headers: IncomingMessage['headers']; body: string };

/**
 * The provider's host as the entries see it: records each request with the entry's own path, then
 * hands it to the mock provider at the mock's fixed path (`/authorize` for the browser, `/token` for
 * the exchange), passing its answer back.
 */
async function startFront(provider: MockProvider) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://front');
      seen.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
      const target = req.method === 'GET' ? `${provider.issuer}/authorize${url.search}` : `${provider.issuer}/token`;
      const headers: Record<string, string> = {};
      for (const k of ['content-type', 'authorization', 'accept']) if (typeof req.headers[k] === 'string') headers[k] = req.headers[k];
      void fetch(target, { method: req.method, headers, body: req.method === 'GET' ? undefined : body, redirect: 'manual' }).then(async (r) => {
        const out: Record<string, string> = {};
        for (const k of ['content-type', 'location']) {
          const v = r.headers.get(k);
          if (v) out[k] = v;
        }
        let text = await r.text();
        // The mock adds an OpenID id_token signed as its own issuer; these entries ask for no OpenID
        // scope, and their providers send none, so it is left out as they would.
        if (req.method === 'POST' && r.ok) text = JSON.stringify({ ...(JSON.parse(text) as object), id_token: undefined });
        res.writeHead(r.status, out).end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, stop: () => new Promise((r) => server.close(r)) };
}

let provider: MockProvider;
let front: Awaited<ReturnType<typeof startFront>>;
let ctx: TestContext;
let baseUrl: string;

beforeAll(async () => {
  provider = await startProvider();
  front = await startFront(provider);
  const served = new Map(catalogue);
  for (const { t } of sample) served.set(t.slug, onHost(t, front.origin));
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  baseUrl = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { OAUTH_ALLOW_INSECURE_LOOPBACK: true, publicUrl: baseUrl }, catalogue: served });
  await ctx.app.listen({ host: '127.0.0.1', port });
});
afterAll(async () => {
  await ctx?.close();
  await front?.stop();
  await provider?.stop();
});

describe('the sample', () => {
  it('is 6 to 10 real verified entries, and covers every provider quirk the catalogue uses', () => {
    expect(sample.length).toBeGreaterThanOrEqual(6);
    expect(sample.length).toBeLessThanOrEqual(10);
    for (const [quirk, has] of QUIRKS) {
      if (candidates.some(has)) expect(sample.some(has), quirk).toBe(true);
    }
    // The same catalogue always gives the same sample.
    expect(sampleOf([...candidates].reverse().sort((a, b) => (a.t.slug < b.t.slug ? -1 : 1))).map((c) => c.t.slug)).toEqual(sample.map((c) => c.t.slug));
  });
});

describe.each(sample.map((c) => [c.t.slug, c] as const))('%s', (slug, { s }) => {
  const o = s.oauth2;

  it("builds the authorize request and the token exchange its entry describes, and connects", async () => {
    const cfg = await ctx.http
      .post(`${V}/auth_configs`)
      .set('x-api-key', ctx.apiKey)
      .send({ toolkit: { slug }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: CLIENT } });
    expect(cfg.status, JSON.stringify(cfg.body)).toBe(201);
    const created = await ctx.http
      .post(`${V}/connected_accounts`)
      .set('x-api-key', ctx.apiKey)
      .send({ auth_config: { id: cfg.body.auth_config.id }, connection: { user_id: `user-${slug}` } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // The authorize request: the entry's path on the provider's host, and its parameters.
    const authorize = new URL(created.body.redirect_url as string);
    const entryAuthorize = new URL(o.authorization_url);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${front.origin}${entryAuthorize.pathname}`);
    const q = Object.fromEntries(authorize.searchParams);
    expect(q).toMatchObject({ response_type: 'code', client_id: CLIENT.client_id, redirect_uri: `${baseUrl}${CALLBACK_PATH}`, state: expect.any(String), ...o.authorize_params });
    if (o.default_scopes.length) expect(q.scope).toBe(o.default_scopes.join(o.scope_separator));
    else expect(q.scope).toBeUndefined();
    if (o.default_user_scopes?.length) expect(q.user_scope).toBe(o.default_user_scopes.join(o.scope_separator));
    if (o.pkce) expect(q).toMatchObject({ code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), code_challenge_method: 'S256' });
    else expect(q.code_challenge).toBeUndefined();
    expect(created.body.redirect_url).not.toContain(CLIENT.client_secret);

    // The user consents; the browser comes back to Latchkey, which exchanges the code.
    const consented = await fetch(authorize, { redirect: 'manual' });
    expect(consented.status).toBe(302);
    const back = new URL(consented.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(`${baseUrl}${CALLBACK_PATH}`);
    const from = front.seen.length;
    const landed = await fetch(back, { redirect: 'manual' });
    expect(landed.status, await landed.text()).toBe(200);

    // The token exchange: the entry's token path, its client authentication and its extra parameters.
    const exchanges = front.seen.slice(from).filter((r) => r.method === 'POST');
    expect(exchanges).toHaveLength(1);
    const x = exchanges[0]!;
    expect(x.path).toBe(new URL(o.token_url).pathname);
    expect(x.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const form = Object.fromEntries(new URLSearchParams(x.body));
    expect(form).toMatchObject({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: `${baseUrl}${CALLBACK_PATH}`, ...o.token_params });
    if (o.pkce) expect(form.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    else expect(form.code_verifier).toBeUndefined();
    if (o.token_endpoint_auth_method === 'client_secret_basic') {
      const basic = /^Basic (.+)$/.exec(String(x.headers.authorization))?.[1];
      const [id, secret] = Buffer.from(basic ?? '', 'base64').toString('utf8').split(':').map(decodeURIComponent);
      expect([id, secret]).toEqual([CLIENT.client_id, CLIENT.client_secret]);
      expect(form.client_secret).toBeUndefined();
    } else {
      expect(form).toMatchObject({ client_id: CLIENT.client_id, client_secret: CLIENT.client_secret });
      expect(x.headers.authorization).toBeUndefined();
    }

    const account = await ctx.http.get(`${V}/connected_accounts/${created.body.id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(account.body).toMatchObject({ status: 'ACTIVE', toolkit: { slug } });
  });
});
