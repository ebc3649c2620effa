/**
 * The provider proxy against a real provider API on loopback (test/support/provider-api.ts) and a
 * real OAuth server (oauth2-mock-server): credential injection (header, query, basic, templated
 * host), the host rule, pass-through of the provider's answers, refresh on expiry and on 401
 * (single flight), limits, binary downloads, the streaming pass-through, call records, and the SDK.
 */
import http from 'node:http';
import { Composio } from '@composio/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { type TestContext, createTestContext } from './support/context.js';
import { CLIENT, type OAuthEnv, connect, expireToken, getAccount } from './support/oauth-app.js';
import { type MockProvider, fail, startProvider } from './support/oauth-server.js';
import { type ProviderApi, startProviderApi } from './support/provider-api.js';

const V = '/api/v3.1';
const KEY = 'prov_key_5e3c1d9a7b';
const PASSWORD = 'basic-pass-77aa21';

let ctx: TestContext;
let api: ProviderApi;
let provider: MockProvider;
let baseUrl: string;
let env: OAuthEnv;
const revoked = new Set<string>();
const accounts: { keyed: string; basic: string } = { keyed: '', basic: '' };

const field = (name: string, secret: boolean, pattern?: string) => ({ name, displayName: name, type: 'string', description: `The ${name}.`, required: true, is_secret: secret, ...(pattern ? { pattern } : {}) });
const toolkit = (slug: string, base_url: string, scheme: object, extra: object = {}) => ({
  slug,
  name: slug,
  description: 'A provider API on loopback.',
  logo: `${api.url}/logo.svg`,
  app_url: api.url,
  docs_url: api.url,
  categories: [{ slug: 'testing', name: 'Testing' }],
  base_url,
  auth_schemes: [scheme],
  ...extra,
});

const post = (path: string, body: object, key = ctx.apiKey) => ctx.http.post(`${V}${path}`).set('x-api-key', key).send(body);
const get = (path: string, key = ctx.apiKey) => ctx.http.get(`${V}${path}`).set('x-api-key', key);
const proxy = (body: object, key = ctx.apiKey) => post('/tools/execute/proxy', body, key);
const slug = (res: { body: unknown }) => (res.body as { error: { slug: string } }).error.slug;

async function account(toolkitSlug: string, scheme: string, val: Record<string, string>) {
  const cfg = await post('/auth_configs', { toolkit: { slug: toolkitSlug }, auth_config: { type: 'use_custom_auth', authScheme: scheme, credentials: {} } });
  expect(cfg.status, JSON.stringify(cfg.body)).toBe(201);
  const acc = await post('/connected_accounts', { auth_config: { id: cfg.body.auth_config.id }, connection: { user_id: 'u1', state: { authScheme: scheme, val } } });
  expect(acc.status, JSON.stringify(acc.body)).toBe(201);
  return acc.body.id as string;
}

beforeAll(async () => {
  provider = await startProvider();
  api = await startProviderApi({
    authorize: (req) => {
      const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      return provider.secrets.has(token) && !revoked.has(token);
    },
  });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const config = {
    publicUrl: baseUrl,
    OAUTH_ALLOW_INSECURE_LOOPBACK: true,
    EGRESS_ALLOW_PRIVATE_ADDRESSES: true,
    PROXY_TIMEOUT_MS: 1000,
    PROXY_MAX_REQUEST_BYTES: 1024 * 1024,
    PROXY_MAX_RESPONSE_BYTES: 8 * 1024 * 1024,
  };
  ctx = await createTestContext({
    config,
    // A templated host (`{{subdomain}}.provider.test`) that the test's resolver points at loopback.
    resolveHost: async () => [{ address: '127.0.0.1', family: 4 }],
  });
  await ctx.app.listen({ host: '127.0.0.1', port });

  const created = await Promise.all([
    post(
      '/custom_toolkits',
      toolkit(
        'keyed',
        `${api.url}/v1`,
        {
          mode: 'API_KEY',
          name: 'Key',
          fields: { auth_config_creation: [], connected_account_initiation: [field('api_key', true)] },
          request_auth: [
            { in: 'header', name: 'X-Api-Key', value: '{{api_key}}' },
            { in: 'query', name: 'key', value: '{{api_key}}' },
          ],
        },
        { api_hosts: [`localhost:${api.port}`] },
      ),
    ),
    post(
      '/custom_toolkits',
      toolkit('basicco', `http://{{subdomain}}.provider.test:${api.port}/v1`, {
        mode: 'BASIC',
        name: 'Basic',
        fields: { auth_config_creation: [], connected_account_initiation: [field('username', false), field('password', true), field('subdomain', false, '^[a-z0-9-]{1,30}$')] },
        request_auth: [{ in: 'basic', username: '{{username}}', password: '{{password}}' }],
      }),
    ),
    post(
      '/custom_toolkits',
      toolkit('oapi', `${api.url}/v1`, {
        mode: 'OAUTH2',
        name: 'OAuth',
        fields: { auth_config_creation: [field('client_id', false), field('client_secret', true)], connected_account_initiation: [] },
        oauth2: { authorization_url: `${provider.issuer}/authorize`, token_url: `${provider.issuer}/token`, default_scopes: ['openid', 'offline_access'] },
        request_auth: [{ in: 'header', name: 'Authorization', value: 'Bearer {{access_token}}' }],
      }),
    ),
  ]);
  for (const c of created) expect(c.status, JSON.stringify(c.body)).toBe(201);
  accounts.keyed = await account('keyed', 'API_KEY', { api_key: KEY });
  accounts.basic = await account('basicco', 'BASIC', { username: 'ann', password: PASSWORD, subdomain: 'tenant-1' });
  const cfg = await post('/auth_configs', { toolkit: { slug: 'oapi' }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: CLIENT } });
  expect(cfg.status).toBe(201);
  env = { ctx, config, baseUrl, authConfigId: cfg.body.auth_config.id as string, provider };
}, 60_000);

afterAll(async () => {
  await ctx?.close();
  await api?.close();
  await provider?.stop();
});

describe('POST /tools/execute/proxy: credentials and hosts', () => {
  it('puts the key in the header and the query, under the base URL path; the caller never sees it', async () => {
    const res = await proxy({ connected_account_id: accounts.keyed, endpoint: '/things?limit=2', method: 'GET' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 200, data: { ok: true, path: '/v1/things' } });
    const seen = api.last();
    expect(seen.headers['x-api-key']).toBe(KEY);
    expect(seen.query).toEqual({ limit: '2', key: KEY });
    expect(JSON.stringify(res.body.headers)).not.toContain(KEY);
  });

  it('sends JSON bodies, caller headers and query parameters', async () => {
    const res = await proxy({
      connected_account_id: accounts.keyed,
      endpoint: 'items',
      method: 'POST',
      body: { name: 'x' },
      parameters: [
        { name: 'X-Trace', type: 'header', value: 't-1' },
        { name: 'page', type: 'query', value: '3' },
      ],
    });
    expect(res.body).toMatchObject({ status: 200, data: { method: 'POST', path: '/v1/items', body: '{"name":"x"}' } });
    expect(api.last().headers).toMatchObject({ 'x-trace': 't-1', 'content-type': 'application/json' });
    expect(api.last().query.page).toBe('3');
  });

  it('basic auth on a templated host', async () => {
    const res = await proxy({ connected_account_id: accounts.basic, endpoint: '/who', method: 'GET' });
    expect(res.body).toMatchObject({ status: 200, data: { path: '/v1/who' } });
    const seen = api.last();
    expect(seen.headers.host).toBe(`tenant-1.provider.test:${api.port}`);
    expect(seen.headers.authorization).toBe(`Basic ${Buffer.from(`ann:${PASSWORD}`).toString('base64')}`);
  });

  it('an absolute endpoint on the base host or a listed api host is allowed; any other host is a 400 and nothing is sent', async () => {
    expect((await proxy({ connected_account_id: accounts.keyed, endpoint: `${api.url}/v1/abs`, method: 'GET' })).body).toMatchObject({ status: 200, data: { path: '/v1/abs' } });
    const upload = await proxy({ connected_account_id: accounts.keyed, endpoint: `http://localhost:${api.port}/upload`, method: 'GET' });
    expect(upload.body).toMatchObject({ status: 200, data: { path: '/upload' } });
    const before = api.seen.length;
    for (const endpoint of [`http://127.0.0.2:${api.port}/v1/x`, 'https://evil.example/x', `//evil.example/x`, `http://user:pw@127.0.0.1:${api.port}/v1/x`]) {
      const res = await proxy({ connected_account_id: accounts.keyed, endpoint, method: 'GET' });
      expect(res.status, endpoint).toBe(400);
      expect(slug(res)).toBe('Proxy_HostRefused');
    }
    expect(api.seen.length).toBe(before);
  });

  it('refuses caller values that would replace the credential, without sending anything', async () => {
    const before = api.seen.length;
    for (const parameters of [
      [{ name: 'Authorization', type: 'header', value: 'Bearer mine' }],
      [{ name: 'x-api-key', type: 'header', value: 'mine' }],
      [{ name: 'key', type: 'query', value: 'mine' }],
      [{ name: 'Connection', type: 'header', value: 'close' }],
    ]) {
      const res = await proxy({ connected_account_id: accounts.keyed, endpoint: '/x', method: 'GET', parameters });
      expect(res.status, JSON.stringify(parameters)).toBe(400);
      expect(slug(res)).toBe('Proxy_InvalidRequest');
    }
    expect(slug(await proxy({ connected_account_id: accounts.keyed, endpoint: '/x?key=mine', method: 'GET' }))).toBe('Proxy_InvalidRequest');
    expect(api.seen.length).toBe(before);
  });

  it("Latchkey's own errors: unknown or another project's account 404, a disabled account 409", async () => {
    expect((await proxy({ connected_account_id: 'ca_nope123456', endpoint: '/x', method: 'GET' })).status).toBe(404);
    const other = await ctx.newProject();
    const res = await proxy({ connected_account_id: accounts.keyed, endpoint: '/x', method: 'GET' }, other.apiKey);
    expect(res.status).toBe(404);
    expect(slug(res)).toBe('ConnectedAccount_ResourceNotFound');
    const id = await account('keyed', 'API_KEY', { api_key: 'k2' });
    await ctx.http.patch(`${V}/connected_accounts/${id}/status`).set('x-api-key', ctx.apiKey).send({ enabled: false }).expect(200);
    const off = await proxy({ connected_account_id: id, endpoint: '/x', method: 'GET' });
    expect(off.status).toBe(409);
    expect(slug(off)).toBe('Proxy_AccountNotActive');
  });
});

describe("the provider's answers", () => {
  it('4xx and 5xx are passed through with a 200 from Latchkey', async () => {
    for (const code of [404, 422, 503]) {
      const res = await proxy({ connected_account_id: accounts.keyed, endpoint: `/status/${code}`, method: 'GET' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: code, data: { problem: `answered ${code}` }, headers: { 'content-type': 'application/json' } });
    }
  });

  it('text stays text; Set-Cookie and hop-by-hop headers (and those named in Connection) are dropped', async () => {
    expect((await proxy({ connected_account_id: accounts.keyed, endpoint: '/text', method: 'GET' })).body).toMatchObject({ status: 200, data: 'plain words' });
    const res = await proxy({ connected_account_id: accounts.keyed, endpoint: '/cookies', method: 'GET' });
    expect(res.body.headers['x-kept']).toBe('yes');
    for (const h of ['set-cookie', 'connection', 'x-hop', 'keep-alive', 'transfer-encoding']) expect(res.body.headers[h], h).toBeUndefined();
  });

  it('binary comes back as a download URL: for this project only, until it expires', async () => {
    const res = await proxy({ connected_account_id: accounts.keyed, endpoint: '/bin', method: 'GET' });
    expect(res.body).toMatchObject({ status: 200, data: null, binary_data: { content_type: 'image/png', size: 8 } });
    const url = new URL(res.body.binary_data.url as string);
    expect(url.origin).toBe(baseUrl);
    expect(url.pathname).toMatch(/^\/api\/v3\.1\/files\/file_[0-9A-Za-z]{40}$/);
    expect(Date.parse(res.body.binary_data.expires_at as string)).toBeGreaterThan(Date.now());
    const file = await ctx.http.get(url.pathname).set('x-api-key', ctx.apiKey).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('image/png');
    expect(Buffer.from(file.body as Buffer)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]));
    const other = await ctx.newProject();
    const theirs = await ctx.http.get(url.pathname).set('x-api-key', other.apiKey);
    expect(theirs.status).toBe(404);
    expect(slug(theirs)).toBe('Proxy_FileNotFound');
    await ctx.pool.query(`UPDATE proxy_files SET expires_at = now() - interval '1 second'`);
    expect((await ctx.http.get(url.pathname).set('x-api-key', ctx.apiKey)).status).toBe(404);
    expect(await ctx.app.services.proxy.prune()).toMatchObject({ files: 1 });
  });

  it('a provider that does not answer in time is a 504; an unreachable one a 502', async () => {
    const res = await proxy({ connected_account_id: accounts.keyed, endpoint: '/slow', method: 'GET' });
    expect(res.status).toBe(504);
    expect(slug(res)).toBe('Proxy_UpstreamTimeout');
    const closedPort = await freePort();
    await ctx.pool.query(`UPDATE custom_toolkits SET definition = jsonb_set(definition, '{api_hosts}', $1::jsonb) WHERE slug = 'keyed'`, [JSON.stringify([`localhost:${api.port}`, `localhost:${closedPort}`])]);
    const down = await proxy({ connected_account_id: accounts.keyed, endpoint: `http://localhost:${closedPort}/x`, method: 'GET' });
    expect(down.status).toBe(502);
    expect(slug(down)).toBe('Proxy_UpstreamUnreachable');
  });

  it('bounded: a response past the limit is a 502, a request body past it a 413', async () => {
    const big = await proxy({ connected_account_id: accounts.keyed, endpoint: `/big?bytes=${9 * 1024 * 1024}`, method: 'GET' });
    expect(big.status).toBe(502);
    expect(slug(big)).toBe('Proxy_ResponseTooLarge');
    const before = api.seen.length;
    const upload = await proxy({ connected_account_id: accounts.keyed, endpoint: '/up', method: 'POST', binary_body: { base64: Buffer.alloc(1024 * 1024 + 1).toString('base64') } });
    expect(upload.status).toBe(413);
    expect(slug(upload)).toBe('Proxy_RequestTooLarge');
    expect(api.seen.length).toBe(before);
    const ok = await proxy({ connected_account_id: accounts.keyed, endpoint: '/up', method: 'PUT', binary_body: { base64: Buffer.from('hello').toString('base64'), content_type: 'application/x-thing' } });
    expect(ok.body).toMatchObject({ status: 200, data: { method: 'PUT', body: 'hello' } });
    expect(api.last().headers['content-type']).toBe('application/x-thing');
  });
});

describe('OAuth2: refresh before use and on 401', () => {
  const tokenCalls = () => provider.tokenCalls.filter((c) => c.grant_type === 'refresh_token').length;

  it('N concurrent calls on an expired token make exactly one token request', async () => {
    const { id } = await connect(env);
    await expireToken(env, id);
    const before = tokenCalls();
    const results = await Promise.all(Array.from({ length: 6 }, () => proxy({ connected_account_id: id, endpoint: '/me', method: 'GET' })));
    for (const r of results) expect(r.body, JSON.stringify(r.body)).toMatchObject({ status: 200, data: { ok: true } });
    expect(tokenCalls() - before).toBe(1);
  });

  it('a 401 from the provider refreshes once for N concurrent calls and retries each once', async () => {
    const { id, account } = await connect(env);
    revoked.add(account.state.val.access_token as string);
    const before = tokenCalls();
    const results = await Promise.all(Array.from({ length: 6 }, () => proxy({ connected_account_id: id, endpoint: '/me', method: 'POST', body: { a: 1 } })));
    for (const r of results) expect(r.body, JSON.stringify(r.body)).toMatchObject({ status: 200, data: { ok: true, body: '{"a":1}' } });
    expect(tokenCalls() - before).toBe(1);
  });

  it('a refresh refused with invalid_grant returns the 401 as it is and leaves the account EXPIRED', async () => {
    const { id, account } = await connect(env);
    revoked.add(account.state.val.access_token as string);
    provider.nextToken(fail.invalidGrant());
    const res = await proxy({ connected_account_id: id, endpoint: '/me', method: 'GET' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 401, data: { error: 'invalid_token' } });
    expect((await getAccount(env, id)).status).toBe('EXPIRED');
    const after = await proxy({ connected_account_id: id, endpoint: '/me', method: 'GET' });
    expect(after.status).toBe(409);
  });
});

describe('the streaming pass-through', () => {
  const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
    http.request(`${baseUrl}${V}/connected_accounts/${accounts.keyed}/proxy/${path}`, { method, headers: { 'x-api-key': ctx.apiKey, ...headers } });

  it('forwards method, query, allowed headers and body; injects the credential; drops Latchkey headers', async () => {
    const res = await ctx.http
      .post(`${V}/connected_accounts/${accounts.keyed}/proxy/items/7?expand=all`)
      .set('x-api-key', ctx.apiKey)
      .set('content-type', 'application/xml')
      .set('x-custom', 'c1')
      .set('cookie', 'latchkey=1')
      .send('<a>1</a>');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ method: 'POST', path: '/v1/items/7', query: { expand: 'all', key: KEY }, body: '<a>1</a>' });
    const seen = api.last();
    expect(seen.headers).toMatchObject({ 'x-api-key': KEY, 'content-type': 'application/xml', 'x-custom': 'c1' });
    expect(seen.headers.cookie).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(ctx.apiKey);
  });

  it('answers the provider status and refuses an Authorization header', async () => {
    expect((await ctx.http.get(`${V}/connected_accounts/${accounts.keyed}/proxy/status/418`).set('x-api-key', ctx.apiKey)).status).toBe(418);
    const res = await ctx.http.get(`${V}/connected_accounts/${accounts.keyed}/proxy/x`).set('x-api-key', ctx.apiKey).set('authorization', 'Bearer mine');
    expect(res.status).toBe(400);
    expect(slug(res)).toBe('Proxy_InvalidRequest');
  });

  it('streams several MB: the first bytes arrive before the provider has finished', async () => {
    api.rearm();
    const total = await new Promise<number>((resolve, reject) => {
      const req = raw('GET', 'stream?mb=6');
      req.on('response', (res) => {
        expect(res.statusCode).toBe(200);
        let got = 0;
        let first = true;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (first) {
            first = false;
            // The provider holds the rest back until now: these bytes cannot have been buffered whole.
            expect(api.streamFinished()).toBe(false);
            api.release();
          }
        });
        res.on('end', () => resolve(got));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(total).toBeGreaterThanOrEqual(6 * 1024 * 1024);
    expect(api.streamFinished()).toBe(true);
  });

  it('streams an upload past the limit into a 413 and never forwards a body larger than allowed', async () => {
    const res = await ctx.http.put(`${V}/connected_accounts/${accounts.keyed}/proxy/up`).set('x-api-key', ctx.apiKey).set('content-type', 'application/octet-stream').send(Buffer.alloc(1024 * 1024 + 10));
    expect(res.status).toBe(413);
  });
});

describe('call records', () => {
  it('every call is recorded without bodies, query values or credentials, newest first, in keyset pages', async () => {
    const id = await account('keyed', 'API_KEY', { api_key: KEY });
    await proxy({ connected_account_id: id, endpoint: '/a?secret_q=hush', method: 'GET' });
    await proxy({ connected_account_id: id, endpoint: '/status/503', method: 'POST', body: { pw: 'body-secret' } });
    await proxy({ connected_account_id: id, endpoint: 'https://evil.example/x', method: 'GET' });
    const first = await get(`/connected_accounts/${id}/proxy_calls?limit=1`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ method: 'POST', path: '/v1/status/503', upstream_status: 503, error: null });
    const rest = await get(`/connected_accounts/${id}/proxy_calls?limit=10&cursor=${first.body.next_cursor}`);
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.items[0]).toMatchObject({ method: 'GET', host: `127.0.0.1:${api.port}`, path: '/v1/a?secret_q', upstream_status: 200, connected_account_id: id });
    expect(rest.body.next_cursor).toBeNull();
    const dump = JSON.stringify((await ctx.pool.query('SELECT * FROM proxy_calls')).rows);
    for (const secret of [KEY, 'hush', 'body-secret', PASSWORD, ctx.apiKey]) expect(dump).not.toContain(secret);
    const other = await ctx.newProject();
    expect((await get(`/connected_accounts/${id}/proxy_calls`, other.apiKey)).status).toBe(404);
  });

  it('every call that used a credential is in the audit log, with its outcome, and no secret', async () => {
    const id = await account('keyed', 'API_KEY', { api_key: KEY });
    await proxy({ connected_account_id: id, endpoint: '/a?secret_q=hush', method: 'GET' });
    await proxy({ connected_account_id: id, endpoint: '/slow', method: 'GET' }).catch(() => undefined);
    await ctx.app.services.audit.flush();
    const res = await get(`/audit_logs?object_id=${id}&action=proxy.call`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [latest, first] = res.body.items as { outcome: string; detail: Record<string, unknown> }[];
    expect(first).toMatchObject({ outcome: 'success', detail: { method: 'GET', host: `127.0.0.1:${api.port}`, upstream_status: 200 } });
    expect(latest).toMatchObject({ outcome: 'failure', detail: { upstream_status: null, error: 'Proxy_UpstreamTimeout' } });
    const dump = JSON.stringify((await ctx.pool.query('SELECT * FROM audit_logs')).rows);
    for (const secret of [KEY, 'hush', PASSWORD, ctx.apiKey]) expect(dump).not.toContain(secret);
  });

  it('no credential reaches the logs', () => {
    const logs = ctx.logs();
    for (const secret of [KEY, PASSWORD, ...[...provider.secrets].filter((s) => s.length > 20)]) expect(logs).not.toContain(secret);
  });
});

describe('the official SDK', () => {
  it('composio.tools.proxyExecute works unchanged', async () => {
    const composio = new Composio({ apiKey: ctx.apiKey, baseURL: baseUrl });
    const res = await composio.tools.proxyExecute({
      endpoint: '/sdk',
      method: 'GET',
      connectedAccountId: accounts.keyed,
      parameters: [{ in: 'query', name: 'maxResults', value: 10 }],
    });
    expect(res).toMatchObject({ status: 200, data: { ok: true, path: '/v1/sdk', query: { maxResults: '10', key: KEY } } });
  });
});

describe('the egress guard', () => {
  it("a toolkit whose API host resolves to an internal address is refused at connection time; nothing reaches it", async () => {
    // The default policy: no internal addresses. The name looks public; the resolver answers loopback.
    const guarded = await createTestContext({ resolveHost: async () => [{ address: '127.0.0.1', family: 4 }] });
    try {
      const send = (path: string, body: object) => guarded.http.post(`${V}${path}`).set('x-api-key', guarded.apiKey).send(body);
      const def = toolkit('sneaky', `http://api.provider.test:${api.port}/v1`, {
        mode: 'API_KEY',
        name: 'Key',
        fields: { auth_config_creation: [], connected_account_initiation: [field('api_key', true)] },
        request_auth: [{ in: 'header', name: 'X-Api-Key', value: '{{api_key}}' }],
      });
      expect((await send('/custom_toolkits', def)).status).toBe(201);
      const cfg = await send('/auth_configs', { toolkit: { slug: 'sneaky' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } });
      const acc = await send('/connected_accounts', { auth_config: { id: cfg.body.auth_config.id }, connection: { state: { authScheme: 'API_KEY', val: { api_key: KEY } } } });
      const before = api.seen.length;
      const res = await send('/tools/execute/proxy', { connected_account_id: acc.body.id, endpoint: '/x', method: 'GET' });
      expect(res.status).toBe(400);
      expect(slug(res)).toBe('Proxy_DestinationRefused');
      expect(JSON.stringify(res.body)).not.toContain(KEY);
      expect(api.seen.length).toBe(before);
    } finally {
      await guarded.close();
    }
  });
});

describe('connections to the provider', () => {
  const call = (endpoint: string, method = 'GET', body?: object) => proxy({ connected_account_id: accounts.keyed, endpoint, method, ...(body ? { body } : {}) });

  it('calls reuse a kept-alive connection instead of opening one each', async () => {
    const opened = api.connections();
    for (let i = 0; i < 5; i++) expect((await call(`/item/${i}`)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get(`/connected_accounts/${accounts.keyed}/proxy/item`)).status).toBe(200);
    expect(api.connections() - opened).toBeLessThanOrEqual(1);
  });

  it('a GET whose kept-alive connection the provider drops is sent again on another; a POST is not sent twice', async () => {
    expect((await call('/warm')).status).toBe(200);
    let seen = api.seen.length;
    const opened = api.connections();
    api.dropReused(1);
    const again = await call('/again');
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.data).toMatchObject({ path: '/v1/again', method: 'GET' });
    expect(api.seen.length - seen).toBe(1);
    // On another connection: one left in the pool by earlier calls, or a new one.
    expect(api.connections() - opened).toBeLessThanOrEqual(1);

    // A POST may have reached the provider: it is not sent again, the caller hears the provider
    // could not be reached.
    expect((await call('/warm')).status).toBe(200);
    seen = api.seen.length;
    api.dropReused(1);
    const created = await call('/create', 'POST', { name: 'once' });
    expect(created.status).toBe(502);
    expect(slug(created)).toBe('Proxy_UpstreamUnreachable');
    expect(api.seen.length).toBe(seen);
    api.dropReused(0);
    expect((await call('/after')).status).toBe(200);
  });
});
