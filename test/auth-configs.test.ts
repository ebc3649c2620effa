/**
 * The auth-config routes over HTTP: Composio's create/get/list/update/status/delete contract, masking
 * of secret credentials, true-patch semantics, soft delete, tenancy and hostile ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { type TestContext, createTestContext } from './support/context.js';
import { expectEnvelope } from './support/expect.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const V = '/api/v3.1';
const MASK = '********';
const catalogue = loadCatalogue();


type AuthConfig = {
  id: string;
  uuid: string;
  type: 'default' | 'custom';
  toolkit: { slug: string; logo: string; auth_guide_url?: string | null };
  name: string;
  auth_scheme: string;
  is_composio_managed: boolean;
  credentials?: Record<string, unknown>;
  proxy_config?: { proxy_url: string; proxy_auth_key?: string } | null;
  status: 'ENABLED' | 'DISABLED';
  created_at: string;
  last_updated_at: string;
  no_of_connections: number;
  expected_input_fields: unknown[];
  tool_access_config: { tools_for_connected_account_creation: string[]; tools_available_for_execution: string[] };
  is_enabled_for_tool_router: boolean;
};
type List = { items: AuthConfig[]; next_cursor: string | null; total_pages: number; current_page: number; total_items: number };
type Created = { toolkit: { slug: string }; auth_config: { id: string; auth_scheme: string; is_composio_managed: boolean } };

const get = (path: string, apiKey = ctx.apiKey) => ctx.http.get(`${V}${path}`).set('x-api-key', apiKey);
const post = (path: string, body: unknown, apiKey = ctx.apiKey) => ctx.http.post(`${V}${path}`).set('x-api-key', apiKey).send(body as object);
const patch = (path: string, body: unknown, apiKey = ctx.apiKey) => ctx.http.patch(`${V}${path}`).set('x-api-key', apiKey).send(body as object);
const patchNoBody = (path: string, apiKey = ctx.apiKey) => ctx.http.patch(`${V}${path}`).set('x-api-key', apiKey);
const del = (path: string, apiKey = ctx.apiKey) => ctx.http.delete(`${V}${path}`).set('x-api-key', apiKey);

async function createConfig(toolkit: string, authConfig?: Record<string, unknown>, apiKey = ctx.apiKey): Promise<string> {
  const res = await post('/auth_configs', { toolkit: { slug: toolkit }, ...(authConfig ? { auth_config: authConfig } : {}) }, apiKey);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as Created).auth_config.id;
}
const custom = (authScheme: string, credentials?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'use_custom_auth',
  authScheme,
  ...(credentials ? { credentials } : {}),
  ...extra,
});
const GITHUB_CREDS = { client_id: 'Iv1.github-client-id', client_secret: 'gh-client-secret-0123456789' };

async function getConfig(id: string, apiKey = ctx.apiKey): Promise<AuthConfig> {
  const res = await get(`/auth_configs/${id}`, apiKey);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as AuthConfig;
}
/** What is really stored (decrypted), to check merges of secret values the API only shows masked. */
async function storedCredentials(projectId: string, id: string) {
  const row = await ctx.app.services.authConfigs.findOrThrow(projectId, id);
  return ctx.app.services.authConfigs.openCredentials(row);
}
async function createAccount(authConfigId: string, apiKey = ctx.apiKey, userId = 'u1') {
  return post(
    '/connected_accounts',
    { auth_config: { id: authConfigId }, connection: { user_id: userId, state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_test' } } } },
    apiKey,
  );
}

describe('POST /auth_configs', () => {
  it('creates a custom API_KEY config: 201 in Composio shape', async () => {
    const res = await post('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: custom('API_KEY') });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = res.body as Created;
    expect(body).toEqual({ toolkit: { slug: 'linear' }, auth_config: { id: expect.stringMatching(/^ac_[0-9A-Za-z]+$/), auth_scheme: 'API_KEY', is_composio_managed: false } });
    const got = await getConfig(body.auth_config.id);
    expect(got).toMatchObject({ id: body.auth_config.id, type: 'custom', auth_scheme: 'API_KEY', is_composio_managed: false, name: 'Linear Auth Config' });
  });

  it('accepts upper-case toolkit slugs and answers lower-case', async () => {
    const res = await post('/auth_configs', { toolkit: { slug: 'LINEAR' }, auth_config: custom('API_KEY', undefined, { name: 'Mine' }) }).expect(201);
    expect((res.body as Created).toolkit.slug).toBe('linear');
    expect((await getConfig((res.body as Created).auth_config.id)).name).toBe('Mine');
  });

  it('takes authScheme in camelCase: auth_scheme alone is a 400 naming authScheme', async () => {
    const res = await post('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', auth_scheme: 'API_KEY' } });
    const e = expectEnvelope(res, 400, 'Request_ValidationError');
    expect(JSON.stringify(e)).toContain('authScheme');
  });

  it('creates a custom OAUTH2 config for github with app credentials', async () => {
    const res = await post('/auth_configs', { toolkit: { slug: 'github' }, auth_config: custom('OAUTH2', GITHUB_CREDS) }).expect(201);
    expect((res.body as Created).auth_config).toMatchObject({ auth_scheme: 'OAUTH2', is_composio_managed: false });
  });

  it('refuses a custom OAUTH2 config missing client_secret with a 400 naming it', async () => {
    for (const credentials of [{ client_id: 'abc' }, { client_id: 'abc', client_secret: '' }]) {
      const res = await post('/auth_configs', { toolkit: { slug: 'github' }, auth_config: custom('OAUTH2', credentials) });
      const e = expectEnvelope(res, 400, 'AuthConfig_InvalidRequest');
      expect(e.message).toContain('client_secret');
      expect(e.message).not.toContain('client_id');
      expect(e.errors).toEqual(['auth_config.credentials.client_secret: required']);
    }
    const none = expectEnvelope(await post('/auth_configs', { toolkit: { slug: 'github' }, auth_config: custom('OAUTH2') }), 400, 'AuthConfig_InvalidRequest');
    expect(none.message).toContain('client_id');
    expect(none.message).toContain('client_secret');
  });

  it('accepts and stores credential keys the toolkit does not declare', async () => {
    const creds = { ...GITHUB_CREDS, audience: 'https://api.example.com', tenant_hint: 'acme', retries: 3, beta: true };
    const id = await createConfig('github', custom('OAUTH2', creds));
    const got = await getConfig(id);
    expect(got.credentials).toEqual({ client_id: GITHUB_CREDS.client_id, client_secret: MASK, audience: 'https://api.example.com', tenant_hint: 'acme', retries: 3, beta: true });
    expect(await storedCredentials(ctx.projectId, id)).toEqual(creds);
  });

  it('refuses a scheme the toolkit does not have with a 400', async () => {
    const res = await post('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: custom('BASIC', { username: 'x' }) });
    const e = expectEnvelope(res, 400, 'AuthConfig_InvalidRequest');
    expect(e.message).toContain('BASIC');
    expect(e.suggested_fix).toContain('API_KEY');
    // A scheme Latchkey does not know at all is a validation error.
    expectEnvelope(await post('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: custom('MAGIC') }), 400, 'Request_ValidationError');
  });

  it('answers 404 for an unknown toolkit and 400 for a malformed slug', async () => {
    expectEnvelope(await post('/auth_configs', { toolkit: { slug: 'no-such-toolkit' }, auth_config: custom('API_KEY') }), 404, 'Toolkit_ResourceNotFound');
    expectEnvelope(await post('/auth_configs', { toolkit: { slug: 'no-such-toolkit' } }), 404, 'Toolkit_ResourceNotFound');
    expectEnvelope(await post('/auth_configs', { toolkit: { slug: "x' OR 1=1" } }), 400, 'Request_ValidationError');
    expectEnvelope(await post('/auth_configs', { toolkit: {} }), 400, 'Request_ValidationError');
    expectEnvelope(await post('/auth_configs', {}), 400, 'Request_ValidationError');
  });

  it('refuses a managed OAUTH2 config when the operator has no app credentials, with a clear 400', async () => {
    for (const body of [{ toolkit: { slug: 'box' }, auth_config: { type: 'use_composio_managed_auth' } }, { toolkit: { slug: 'box' } }]) {
      const e = expectEnvelope(await post('/auth_configs', body), 400, 'AuthConfig_InvalidRequest');
      expect(e.message).toMatch(/managed/i);
      expect(e.message).toContain('box');
      expect(e.suggested_fix).toContain('use_custom_auth');
    }
  });

  it('creates a managed API_KEY config: no app credentials are needed', async () => {
    const res = await post('/auth_configs', { toolkit: { slug: 'stripe' }, auth_config: { type: 'use_composio_managed_auth' } }).expect(201);
    expect(res.body).toEqual({ toolkit: { slug: 'stripe' }, auth_config: { id: expect.stringMatching(/^ac_/), auth_scheme: 'API_KEY', is_composio_managed: true } });
    const got = await getConfig((res.body as Created).auth_config.id);
    expect(got).toMatchObject({ type: 'default', is_composio_managed: true, auth_scheme: 'API_KEY', status: 'ENABLED', name: 'Stripe Auth Config' });
    // The default body (no auth_config) is managed auth too.
    const dflt = await post('/auth_configs', { toolkit: { slug: 'openai' } }).expect(201);
    expect((dflt.body as Created).auth_config).toMatchObject({ auth_scheme: 'API_KEY', is_composio_managed: true });
    // And an account can be connected with it.
    const acc = await post('/connected_accounts', {
      auth_config: { id: (res.body as Created).auth_config.id },
      connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'sk_test_abc' } } },
    });
    expect(acc.status, JSON.stringify(acc.body)).toBe(201);
  });

  it('keeps only scope choices from credentials sent with managed auth', async () => {
    const id = await createConfig('stripe', { type: 'use_composio_managed_auth', credentials: { scopes: 'read', client_secret: 'should-not-be-kept' } });
    expect(await storedCredentials(ctx.projectId, id)).toEqual({ scopes: 'read' });
  });
});

describe('GET /auth_configs/{id}', () => {
  it('returns every contract field, omits unset optional ones, masks secrets', async () => {
    const id = await createConfig('github', custom('OAUTH2', GITHUB_CREDS));
    const res = await get(`/auth_configs/${id}`).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const c = res.body as AuthConfig;
    const gh = catalogue.get('github')!;
    expect(c).toEqual({
      id,
      uuid: expect.any(String),
      type: 'custom',
      toolkit: { slug: 'github', logo: gh.logo, auth_guide_url: gh.docs_url ?? null },
      name: 'GitHub Auth Config',
      auth_scheme: 'OAUTH2',
      is_composio_managed: false,
      credentials: { client_id: GITHUB_CREDS.client_id, client_secret: MASK },
      status: 'ENABLED',
      created_at: expect.any(String),
      last_updated_at: expect.any(String),
      no_of_connections: 0,
      expected_input_fields: [],
      tool_access_config: { tools_for_connected_account_creation: [], tools_available_for_execution: [] },
      is_enabled_for_tool_router: false,
    });
    expect(c.toolkit.logo).toMatch(/^https:\/\//);
    expect(new Date(c.created_at).toISOString()).toBe(c.created_at);
    expect(new Date(c.last_updated_at).toISOString()).toBe(c.last_updated_at);
    expect('proxy_config' in c).toBe(false);
    for (const [k, v] of Object.entries(c)) expect(v, `top-level ${k} is null`).not.toBeNull();
    expect(res.text).not.toContain(GITHUB_CREDS.client_secret);
  });

  it('returns tool_access_config and proxy_config given at creation', async () => {
    const id = await createConfig(
      'linear',
      custom('API_KEY', undefined, {
        tool_access_config: { tools_for_connected_account_creation: ['LINEAR_LIST_ISSUES'] },
        proxy_config: { proxy_url: 'https://proxy.example.com/', proxy_auth_key: 'pk' },
        is_enabled_for_tool_router: true,
      }),
    );
    const c = await getConfig(id);
    expect(c.tool_access_config).toEqual({ tools_for_connected_account_creation: ['LINEAR_LIST_ISSUES'], tools_available_for_execution: [] });
    expect(c.proxy_config).toEqual({ proxy_url: 'https://proxy.example.com/', proxy_auth_key: 'pk' });
    expect(c.is_enabled_for_tool_router).toBe(true);
  });

  it('counts live connections in no_of_connections', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    const a = await createAccount(id);
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect((await createAccount(id, ctx.apiKey, 'u2')).status).toBe(201);
    expect((await getConfig(id)).no_of_connections).toBe(2);
    await del(`/connected_accounts/${(a.body as { id: string }).id}`).expect(200);
    expect((await getConfig(id)).no_of_connections).toBe(1);
  });

  it('never returns a secret credential in clear, in GET or in lists', async () => {
    const secret = 'top-secret-client-secret-value-xyz';
    const id = await createConfig('github', custom('OAUTH2', { client_id: 'cid', client_secret: secret, webhook_secret: 'whsec_abcdef', api_key: 'extra-key-value' }));
    const one = await get(`/auth_configs/${id}`).expect(200);
    expect((one.body as AuthConfig).credentials).toEqual({ client_id: 'cid', client_secret: MASK, webhook_secret: MASK, api_key: MASK });
    const list = await get('/auth_configs?toolkit_slug=github&limit=200').expect(200);
    for (const text of [one.text, list.text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('whsec_abcdef');
      expect(text).not.toContain('extra-key-value');
    }
    expect((list.body as List).items.find((i) => i.id === id)!.credentials).toEqual({ client_id: 'cid', client_secret: MASK, webhook_secret: MASK, api_key: MASK });
  });

  it('answers 404 for an unknown well-formed id', async () => {
    expectEnvelope(await get('/auth_configs/ac_doesNotExist1'), 404, 'AuthConfig_ResourceNotFound');
  });

  it('is also served under /api/v3', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    const a = await getConfig(id);
    const b = await ctx.http.get(`/api/v3/auth_configs/${id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(b.body).toEqual(a);
  });
});

describe('GET /auth_configs (list)', () => {
  let p: { projectId: string; apiKey: string };
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    p = await ctx.newProject();
    ids.linearA = await createConfig('linear', custom('API_KEY', undefined, { name: 'Alpha Linear' }), p.apiKey);
    ids.linearB = await createConfig('linear', custom('API_KEY', undefined, { name: 'Beta Linear' }), p.apiKey);
    ids.stripe = await createConfig('stripe', { type: 'use_composio_managed_auth' }, p.apiKey);
    ids.openai = await createConfig('openai', custom('API_KEY'), p.apiKey);
    ids.github = await createConfig('github', custom('OAUTH2', GITHUB_CREDS), p.apiKey);
    ids.twilio = await createConfig('twilio', custom('BASIC'), p.apiKey);
    ids.disabled = await createConfig('linear', custom('API_KEY', undefined, { name: 'Gamma Linear (off)' }), p.apiKey);
    await patchNoBody(`/auth_configs/${ids.disabled}/DISABLED`, p.apiKey).expect(200);
    ids.deleted = await createConfig('linear', custom('API_KEY'), p.apiKey);
    await del(`/auth_configs/${ids.deleted}`, p.apiKey).expect(200);
  });
  const list = async (q: string) => {
    const res = await get(`/auth_configs${q ? `?${q}` : ''}`, p.apiKey);
    expect(res.status, `${q}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body as List;
  };
  const idsOf = (l: List) => l.items.map((i) => i.id).sort();
  const sorted = (...names: string[]) => names.map((n) => ids[n]!).sort();

  it('answers in the envelope, newest first, hiding disabled and deleted configs', async () => {
    const l = await list('');
    expect(Object.keys(l).sort()).toEqual(['current_page', 'items', 'next_cursor', 'total_items', 'total_pages']);
    expect(l.items.map((i) => i.id)).toEqual([ids.twilio, ids.github, ids.openai, ids.stripe, ids.linearB, ids.linearA]);
    expect(l).toMatchObject({ total_items: 6, total_pages: 1, current_page: 1, next_cursor: null });
    const all = await list('show_disabled=true');
    expect(idsOf(all)).toEqual(sorted('linearA', 'linearB', 'stripe', 'openai', 'github', 'twilio', 'disabled'));
    expect(all.items.find((i) => i.id === ids.disabled)!.status).toBe('DISABLED');
    expect(idsOf(await list('show_disabled=false'))).toEqual(idsOf(l));
    expect(all.items.map((i) => i.id)).not.toContain(ids.deleted);
  });

  it('filters by toolkit_slug, one, comma-joined or repeated', async () => {
    expect(idsOf(await list('toolkit_slug=linear'))).toEqual(sorted('linearA', 'linearB'));
    expect(idsOf(await list('toolkit_slug=LINEAR'))).toEqual(sorted('linearA', 'linearB'));
    expect(idsOf(await list(`toolkit_slug=${encodeURIComponent('linear,stripe')}`))).toEqual(sorted('linearA', 'linearB', 'stripe'));
    expect(idsOf(await list('toolkit_slug=linear,github'))).toEqual(sorted('linearA', 'linearB', 'github'));
    expect(idsOf(await list('toolkit_slug=linear&toolkit_slug=twilio'))).toEqual(sorted('linearA', 'linearB', 'twilio'));
    expect(idsOf(await list('toolkit_slug=linear&show_disabled=true'))).toEqual(sorted('linearA', 'linearB', 'disabled'));
    expect((await list('toolkit_slug=slack')).items).toEqual([]);
    expectEnvelope(await get(`/auth_configs?toolkit_slug=${encodeURIComponent("' OR 1=1")}`, p.apiKey), 400, 'Request_ValidationError');
  });

  it('filters by is_composio_managed', async () => {
    expect(idsOf(await list('is_composio_managed=true'))).toEqual(sorted('stripe'));
    expect(idsOf(await list('is_composio_managed=false'))).toEqual(sorted('linearA', 'linearB', 'openai', 'github', 'twilio'));
    expectEnvelope(await get('/auth_configs?is_composio_managed=maybe', p.apiKey), 400, 'Request_ValidationError');
  });

  it('searches by name (case-insensitive) or by id; metacharacters are plain text', async () => {
    expect(idsOf(await list('search=alpha'))).toEqual(sorted('linearA'));
    expect(idsOf(await list('search=LINEAR'))).toEqual(sorted('linearA', 'linearB'));
    expect(idsOf(await list('search=linear&show_disabled=true'))).toEqual(sorted('linearA', 'linearB', 'disabled'));
    expect(idsOf(await list(`search=${ids.github}`))).toEqual(sorted('github'));
    // No name contains these characters: LIKE wildcards must not match everything.
    for (const term of ['%', '_', '%linear%', 'l_near', "' OR 1=1 --", '\\']) {
      expect.soft(idsOf(await list(`search=${encodeURIComponent(term)}`)), `search=${term}`).toEqual([]);
    }
  });

  it('walks every config exactly once with limit + cursor', async () => {
    const seen: string[] = [];
    const pages: List[] = [];
    let cursor: string | null = null;
    do {
      const page: List = await list(`show_disabled=true&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      pages.push(page);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.next_cursor;
      expect(pages.length).toBeLessThan(10);
    } while (cursor);
    expect(seen.sort()).toEqual(sorted('linearA', 'linearB', 'stripe', 'openai', 'github', 'twilio', 'disabled'));
    expect(new Set(seen).size).toBe(7);
    expect(pages.map((pg) => pg.current_page)).toEqual([1, 2, 3, 4]);
    for (const pg of pages) expect(pg).toMatchObject({ total_items: 7, total_pages: 4 });
    expect(pages.map((pg) => pg.items.length)).toEqual([2, 2, 2, 1]);
  });

  it('rejects invalid cursors and limits with 400', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
    for (const c of ['garbage!!', 'abc', b64({ foo: 1 }), b64({ c: 'yesterday', i: 'ac_x' }), b64(null), 'x'.repeat(600)]) {
      const e = expectEnvelope(await get(`/auth_configs?cursor=${encodeURIComponent(c)}`, p.apiKey), 400);
      expect(['Request_InvalidCursor', 'Request_ValidationError']).toContain(e.slug);
    }
    expectEnvelope(await get(`/auth_configs?cursor=${b64({ foo: 1 })}`, p.apiKey), 400, 'Request_InvalidCursor');
    for (const limit of ['0', '-1', '201', '5000', 'abc', '1.5', '']) {
      expectEnvelope(await get(`/auth_configs?limit=${encodeURIComponent(limit)}`, p.apiKey), 400, 'Request_ValidationError');
    }
    expect((await list('limit=200')).items.length).toBe(6);
  });
});

describe('PATCH /auth_configs/{id}', () => {
  it('keeps omitted fields and merges credentials key by key', async () => {
    const id = await createConfig('github', custom('OAUTH2', { ...GITHUB_CREDS, audience: 'aud-1' }, { tool_access_config: { tools_for_connected_account_creation: ['A'] } }));
    const before = await getConfig(id);

    const r1 = await patch(`/auth_configs/${id}`, { type: 'custom', name: 'Renamed' });
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body).toEqual({});
    const afterName = await getConfig(id);
    expect(afterName).toMatchObject({ name: 'Renamed', credentials: before.credentials, tool_access_config: before.tool_access_config, auth_scheme: 'OAUTH2' });
    expect(await storedCredentials(ctx.projectId, id)).toEqual({ ...GITHUB_CREDS, audience: 'aud-1' });

    await patch(`/auth_configs/${id}`, { type: 'custom', credentials: { client_id: 'new-client-id', extra_flag: 'on' } }).expect(200);
    expect(await storedCredentials(ctx.projectId, id)).toEqual({ client_id: 'new-client-id', client_secret: GITHUB_CREDS.client_secret, audience: 'aud-1', extra_flag: 'on' });
    expect((await getConfig(id)).credentials).toEqual({ client_id: 'new-client-id', client_secret: MASK, audience: 'aud-1', extra_flag: 'on' });
    expect((await getConfig(id)).name).toBe('Renamed');

    await patch(`/auth_configs/${id}`, { type: 'custom', credentials: { client_secret: 'rotated-secret-value' } }).expect(200);
    expect(await storedCredentials(ctx.projectId, id)).toMatchObject({ client_id: 'new-client-id', client_secret: 'rotated-secret-value' });

    await patch(`/auth_configs/${id}`, { type: 'custom', tool_access_config: { tools_available_for_execution: ['B'] } }).expect(200);
    expect((await getConfig(id)).tool_access_config).toEqual({ tools_for_connected_account_creation: ['A'], tools_available_for_execution: ['B'] });
  });

  it('removes a credential key set to ""', async () => {
    const id = await createConfig('github', custom('OAUTH2', { ...GITHUB_CREDS, audience: 'aud-1', scopes: 'repo' }));
    await patch(`/auth_configs/${id}`, { type: 'custom', credentials: { audience: '' } }).expect(200);
    expect(await storedCredentials(ctx.projectId, id)).toEqual({ ...GITHUB_CREDS, scopes: 'repo' });
    expect((await getConfig(id)).credentials).toEqual({ client_id: GITHUB_CREDS.client_id, client_secret: MASK, scopes: 'repo' });
  });

  it('clears proxy_config with null', async () => {
    const id = await createConfig('linear', custom('API_KEY', undefined, { proxy_config: { proxy_url: 'https://proxy.example.com/' } }));
    expect((await getConfig(id)).proxy_config).toEqual({ proxy_url: 'https://proxy.example.com/' });
    await patch(`/auth_configs/${id}`, { type: 'custom', name: 'still here' }).expect(200);
    expect((await getConfig(id)).proxy_config).toEqual({ proxy_url: 'https://proxy.example.com/' });
    await patch(`/auth_configs/${id}`, { type: 'custom', proxy_config: null }).expect(200);
    const after = await getConfig(id);
    expect(after.proxy_config ?? null, 'proxy_config: null must clear it (true-patch semantics)').toBeNull();
  });

  it('updates scopes of a managed config with type "default"', async () => {
    const id = await createConfig('stripe', { type: 'use_composio_managed_auth' });
    await patch(`/auth_configs/${id}`, { type: 'default', scopes: ['read', 'write'] }).expect(200);
    expect((await getConfig(id)).credentials).toEqual({ scopes: ['read', 'write'] });
    await patch(`/auth_configs/${id}`, { type: 'default', name: 'n' }).expect(200);
    expect((await getConfig(id)).credentials).toEqual({ scopes: ['read', 'write'] });
    await patch(`/auth_configs/${id}`, { type: 'default', scopes: null }).expect(200);
    expect((await getConfig(id)).credentials).toEqual({});
  });

  it('refuses a type that does not match the config with 400, and changes nothing', async () => {
    const customId = await createConfig('github', custom('OAUTH2', GITHUB_CREDS));
    const managedId = await createConfig('stripe', { type: 'use_composio_managed_auth' });
    const e1 = expectEnvelope(await patch(`/auth_configs/${customId}`, { type: 'default', name: 'x' }), 400, 'AuthConfig_InvalidRequest');
    expect(e1.message).toContain('custom');
    const e2 = expectEnvelope(await patch(`/auth_configs/${managedId}`, { type: 'custom', name: 'x' }), 400, 'AuthConfig_InvalidRequest');
    expect(e2.message).toContain('default');
    expect((await getConfig(customId)).name).toBe('GitHub Auth Config');
    expect((await getConfig(managedId)).name).toBe('Stripe Auth Config');
  });

  it('rejects malformed bodies with 400', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    for (const body of [{}, { type: 'weird' }, { type: 'custom', name: '' }, { type: 'custom', credentials: { 'bad key!': 'x' } }, { type: 'custom', tool_access_config: { other: [] } }]) {
      expectEnvelope(await patch(`/auth_configs/${id}`, body), 400, 'Request_ValidationError');
    }
    expectEnvelope(await patch('/auth_configs/ac_doesNotExist1', { type: 'custom', name: 'x' }), 404, 'AuthConfig_ResourceNotFound');
  });
});

describe('PATCH /auth_configs/{id}/{ENABLED|DISABLED}', () => {
  it('disables and enables with no body; a disabled config refuses new accounts', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    const acc = await createAccount(id);
    expect(acc.status).toBe(201);
    const accId = (acc.body as { id: string }).id;

    const off = await patchNoBody(`/auth_configs/${id}/DISABLED`);
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.headers['content-type']).toMatch(/application\/json/);
    expect(off.body).toEqual({});
    expect((await getConfig(id)).status).toBe('DISABLED');

    const refused = await createAccount(id);
    const e = expectEnvelope(refused, 400, 'AuthConfig_Disabled');
    expect(e.message).toContain(id);

    const account = (await get(`/connected_accounts/${accId}`).expect(200)).body as { auth_config: { is_disabled: boolean } };
    expect(account.auth_config.is_disabled).toBe(true);
    const listed = (await get(`/connected_accounts?connected_account_ids=${accId}`).expect(200)).body as { items: { auth_config: { is_disabled: boolean } }[] };
    expect(listed.items[0]!.auth_config.is_disabled).toBe(true);

    // An empty JSON body is "no body" too.
    const on = await ctx.http.patch(`${V}/auth_configs/${id}/ENABLED`).set('x-api-key', ctx.apiKey).set('content-type', 'application/json');
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body).toEqual({});
    expect((await getConfig(id)).status).toBe('ENABLED');
    expect((await createAccount(id)).status).toBe(201);
    expect(((await get(`/connected_accounts/${accId}`).expect(200)).body as { auth_config: { is_disabled: boolean } }).auth_config.is_disabled).toBe(false);
  });

  it('is idempotent and rejects unknown statuses', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    await patchNoBody(`/auth_configs/${id}/DISABLED`).expect(200);
    await patchNoBody(`/auth_configs/${id}/DISABLED`).expect(200);
    await patchNoBody(`/auth_configs/${id}/ENABLED`).expect(200);
    await patchNoBody(`/auth_configs/${id}/ENABLED`).expect(200);
    for (const s of ['disabled', 'PAUSED', encodeURIComponent("' OR 1=1")]) {
      expectEnvelope(await patchNoBody(`/auth_configs/${id}/${s}`), 400, 'Request_ValidationError');
    }
    expectEnvelope(await patchNoBody('/auth_configs/ac_doesNotExist1/DISABLED'), 404, 'AuthConfig_ResourceNotFound');
  });
});

describe('DELETE /auth_configs/{id}', () => {
  it('soft-deletes the config and its connected accounts', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    const acc = await createAccount(id);
    const accId = (acc.body as { id: string }).id;
    const res = await del(`/auth_configs/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ success: true });

    expectEnvelope(await get(`/auth_configs/${id}`), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await get(`/connected_accounts/${accId}`), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await patch(`/auth_configs/${id}`, { type: 'custom', name: 'x' }), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await patchNoBody(`/auth_configs/${id}/ENABLED`), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await del(`/auth_configs/${id}`), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await createAccount(id), 404, 'AuthConfig_ResourceNotFound');
    const l = (await get(`/auth_configs?search=${id}&show_disabled=true`).expect(200)).body as List;
    expect(l.items).toEqual([]);
    const accounts = (await get(`/connected_accounts?auth_config_ids=${id}`).expect(200)).body as { items: unknown[] };
    expect(accounts.items).toEqual([]);

    // Soft: the rows are still there, marked deleted.
    const row = await ctx.db.authConfig.findUnique({ where: { id } });
    expect(row?.deletedAt).toBeInstanceOf(Date);
    expect((await ctx.db.connectedAccount.findUnique({ where: { id: accId } }))?.deletedAt).toBeInstanceOf(Date);
  });

  it('accepts revoke_on_delete', async () => {
    const id = await createConfig('linear', custom('API_KEY'));
    await del(`/auth_configs/${id}?revoke_on_delete=false`).expect(200);
  });
});

describe('tenancy', () => {
  it("another project's config is not found for every route and cannot take accounts", async () => {
    const other = await ctx.newProject();
    const id = await createConfig('github', custom('OAUTH2', GITHUB_CREDS));
    const mine = await createConfig('linear', custom('API_KEY'));
    const acc = await createAccount(mine);
    expect(acc.status).toBe(201);

    expectEnvelope(await get(`/auth_configs/${id}`, other.apiKey), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await patch(`/auth_configs/${id}`, { type: 'custom', name: 'stolen', credentials: { client_secret: 'x' } }, other.apiKey), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await patchNoBody(`/auth_configs/${id}/DISABLED`, other.apiKey), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await del(`/auth_configs/${id}`, other.apiKey), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await createAccount(mine, other.apiKey), 404, 'AuthConfig_ResourceNotFound');

    const listed = (await get(`/auth_configs?show_disabled=true&limit=200`, other.apiKey).expect(200)).body as List;
    expect(listed.items.map((i) => i.id)).not.toContain(id);
    expect(((await get(`/auth_configs?search=${id}`, other.apiKey).expect(200)).body as List).items).toEqual([]);

    // Untouched for its owner.
    const c = await getConfig(id);
    expect(c).toMatchObject({ name: 'GitHub Auth Config', status: 'ENABLED' });
    expect(await storedCredentials(ctx.projectId, id)).toEqual(GITHUB_CREDS);
    expect((await getConfig(mine)).no_of_connections).toBe(1);
  });
});

describe('malformed ids', () => {
  it('answers 400 (never 500) to hostile, unicode and over-long ids', async () => {
    const ids = [
      "ac_'; DROP TABLE auth_configs;--",
      "ac_x' OR '1'='1",
      'ac_ユーザー',
      'ac_🔑🔑🔑🔑🔑🔑',
      `ac_${'a'.repeat(100)}`,
      `ac_${'a'.repeat(497)}`,
      'ca_abcdefgh',
      'ac_abc',
      'ac_%',
      'ac_abc\u0000def',
    ];
    for (const raw of ids) {
      const id = encodeURIComponent(raw);
      for (const [label, res] of [
        ['GET', await get(`/auth_configs/${id}`)],
        ['PATCH', await patch(`/auth_configs/${id}`, { type: 'custom', name: 'x' })],
        ['DELETE', await del(`/auth_configs/${id}`)],
        ['STATUS', await patchNoBody(`/auth_configs/${id}/DISABLED`)],
      ] as const) {
        expect(res.status, `${label} ${raw}: ${JSON.stringify(res.body)}`).toBe(400);
        expectEnvelope(res, 400);
        expect(res.text).not.toMatch(/stack|aaaaaaaaaaaaaaaaaaaa/);
      }
    }
    expectEnvelope(await post('/connected_accounts', { auth_config: { id: "ac_'; DROP" }, connection: {} }), 400, 'Request_ValidationError');
    // The table is still there.
    await get('/auth_configs').expect(200);
  });
});
