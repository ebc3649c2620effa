/**
 * DCR_OAUTH and CIMD_OAUTH connected accounts ("MCP server by URL") end to end: Latchkey on
 * loopback, a remote MCP server and its authorization server on another port
 * (test/support/mcp-auth-server.ts: RFC 9728 resource metadata, RFC 8414, RFC 7591 registration,
 * PKCE S256 and RFC 8707 `resource` checked on every authorize, token and refresh request), and the
 * user's browser played with fetch. The built-in `mcp` toolkit is used as a team would use it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type McpAuthServer, startMcpAuthServer } from './support/mcp-auth-server.js';
import {
  type Account,
  accountCount,
  call,
  consentAndReturn,
  createAuthConfig,
  initiateAccount,
  readAccount,
  type RedirectEnv,
  startRedirectEnv,
  visit,
} from './support/redirect-env.js';
import { createTestContext, type TestContext } from './support/context.js';

let server: McpAuthServer;
let env: RedirectEnv;
let authConfigId: string;

const errorOf = (body: unknown) => (body as { error: { message: string; status: number } }).error;

beforeAll(async () => {
  server = await startMcpAuthServer();
  // The proxy's own guard refuses loopback servers unless private addresses are allowed.
  env = await startRedirectEnv({ EGRESS_ALLOW_PRIVATE_ADDRESSES: true });
  authConfigId = await createAuthConfig(env, 'mcp', 'DCR_OAUTH', { mcp_url: server.resource });
});
afterEach(() => server.reset());
afterAll(async () => {
  await env?.ctx.close();
  await server?.close();
});

const initiate = (cfg = authConfigId, apiKey = env.ctx.apiKey) => initiateAccount(env, cfg, { apiKey });
const getAccount = (id: string) => readAccount(env, id);

describe('DCR_OAUTH: an MCP server by URL', () => {
  it('discovers, registers, runs code + PKCE + resource, and the token opens the MCP server', async () => {
    const created = await initiate();
    expect(created.status).toBe('INITIATED');
    expect(created.connectionData).toMatchObject({
      authScheme: 'DCR_OAUTH',
      val: { status: 'INITIATED', redirectUrl: created.redirect_url, client_id: expect.stringMatching(/^dcr-/), resource: server.resource, mcp_url: server.resource },
    });
    const q = Object.fromEntries(new URL(created.redirect_url).searchParams);
    expect(q).toMatchObject({ response_type: 'code', resource: server.resource, code_challenge_method: 'S256', scope: 'mcp:tools', redirect_uri: `${env.baseUrl}/api/v3/toolkits/auth/callback` });
    expect(created.redirect_url.startsWith(`${server.issuer}/authorize?`)).toBe(true);

    const landed = await consentAndReturn(created.redirect_url);
    expect(landed.status, landed.text).toBe(200);
    const account = await getAccount(created.id);
    expect(account.status).toBe('ACTIVE');
    expect(account.state.val).toMatchObject({ access_token: expect.stringMatching(/^mcp-at-/), refresh_token: expect.any(String), client_id: created.connectionData.val.client_id });
    expect(account.state.val).not.toHaveProperty('client_secret');

    // The agent's side: auth_params for the MCP server's URL, and the token works there.
    const params = await call(env).get(`/connected_accounts/${created.id}/auth_params`);
    const body = params.body as { base_url: string; parameters: { name: string; value: string }[] };
    expect(body.base_url).toBe(server.resource);
    const res = await fetch(body.base_url, { headers: { authorization: body.parameters[0]!.value } });
    expect(res.status).toBe(200);

    // Or through the proxy, which puts the token on the request to the MCP server.
    const proxied = await call(env).post('/tools/execute/proxy', { connected_account_id: created.id, endpoint: server.resource, method: 'POST', body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    expect(proxied.status, JSON.stringify(proxied.body)).toBe(200);
    expect(proxied.body).toMatchObject({ status: 200, data: { jsonrpc: '2.0' } });
  });

  it('one registration serves every account of the project and server; its secret is sealed at rest', async () => {
    const before = server.registeredClients();
    const a = await initiate();
    const b = await initiate();
    expect(a.connectionData.val.client_id).toBe(b.connectionData.val.client_id);
    expect(server.registeredClients()).toBe(before);
    const { rows } = await env.ctx.pool.query<{ client_secret: string; client_id: string }>('SELECT client_id, client_secret FROM registered_clients');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.client_secret).toMatch(/^lk1\./);
  });

  it('first connections racing in a new project end up sharing one registration, and each completes', async () => {
    const project = await env.ctx.newProject();
    const cfg = await createAuthConfig(env, 'mcp', 'DCR_OAUTH', { mcp_url: server.resource }, project.apiKey);
    const created = await Promise.all([1, 2, 3].map(() => initiate(cfg, project.apiKey)));
    expect(new Set(created.map((c) => c.connectionData.val.client_id)).size).toBe(1);
    const { rows } = await env.ctx.pool.query('SELECT client_id FROM registered_clients WHERE project_id = $1', [project.projectId]);
    expect(rows).toEqual([{ client_id: created[0]!.connectionData.val.client_id }]);
    for (const c of created) expect((await consentAndReturn(c.redirect_url)).status).toBe(200);
  });

  it('refresh sends the same resource under the lease; a server that forgot the client expires the account and the next connection registers again', async () => {
    const created = await initiate();
    await consentAndReturn(created.redirect_url);
    const first = await getAccount(created.id);
    const refreshed = await call(env).post(`/connected_accounts/${created.id}/refresh_token`);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const after = refreshed.body as Account;
    expect(after.state.val.access_token).not.toBe(first.state.val.access_token);
    // The server refuses a refresh whose resource differs; this one passed, so it carried the same.
    const refreshCall = server.requests.filter((r) => r.url.pathname === '/tenant/token' && r.form.grant_type === 'refresh_token').at(-1)!;
    expect(refreshCall.form.resource).toBe(server.resource);

    server.forgetClients();
    const refused = await call(env).post(`/connected_accounts/${created.id}/refresh_token`);
    expect(refused.status).toBe(409);
    expect((await getAccount(created.id)).status).toBe('EXPIRED');
    const again = await initiate();
    expect(again.connectionData.val.client_id).not.toBe(created.connectionData.val.client_id);
    await consentAndReturn(again.redirect_url);
    expect((await getAccount(again.id)).status).toBe('ACTIVE');
  });

  it('re-authorisation keeps the account id', async () => {
    const created = await initiate();
    await consentAndReturn(created.redirect_url);
    const res = await call(env).post(`/connected_accounts/${created.id}/refresh`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await consentAndReturn((res.body as { redirect_url: string }).redirect_url);
    expect((await getAccount(created.id)).status).toBe('ACTIVE');
  });

  it('the user denying consent fails the account with the server\'s error', async () => {
    const created = await initiate();
    const back = new URL(`${env.baseUrl}/api/v3/toolkits/auth/callback`);
    back.searchParams.set('state', new URL(created.redirect_url).searchParams.get('state')!);
    back.searchParams.set('error', 'access_denied');
    expect((await visit(back)).status).toBe(400);
    const account = await getAccount(created.id);
    expect(account.status).toBe('FAILED');
    expect(account.state.val).toMatchObject({ error: 'access_denied' });
  });
});

describe('DCR_OAUTH failures: a clear 400 naming the problem, nothing created', () => {
  async function refused(shape: (o: McpAuthServer['options']) => void, code: string) {
    // A project of its own, so that no cached registration hides the server's behaviour.
    const project = await env.ctx.newProject();
    const cfg = await createAuthConfig(env, 'mcp', 'DCR_OAUTH', { mcp_url: server.resource }, project.apiKey);
    shape(server.options);
    const before = await accountCount(env);
    const res = await call(env, project.apiKey).post('/connected_accounts', { auth_config: { id: cfg }, connection: { user_id: 'ada' } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(errorOf(res.body).message).toContain(code);
    expect(await accountCount(env)).toBe(before);
  }

  it('registration refused', () => refused((o) => void (o.registration = 'refuse'), 'registration_refused'));
  it('no registration endpoint', () => refused((o) => void (o.registration = 'absent'), 'registration_unsupported'));
  it('protected resource metadata missing', () => refused((o) => void ((o.resourceMetadataAt = 'none'), (o.challenge = 'bare')), 'metadata_missing'));
  it('authorization server metadata missing', () => refused((o) => void (o.asMetadata = 'none'), 'metadata_missing'));
  it('metadata about another resource', () => refused((o) => void (o.resourceMetadataResource = 'http://127.0.0.1:1/other'), 'resource_mismatch'));
  it('PKCE S256 not advertised', () => refused((o) => void (o.pkce = false), 'pkce_unsupported'));
  it('an auth config without mcp_url cannot be created', async () => {
    const res = await call(env).post('/auth_configs', { toolkit: { slug: 'mcp' }, auth_config: { type: 'use_custom_auth', authScheme: 'DCR_OAUTH', credentials: {} } });
    expect(res.status).toBe(400);
  });
  it('an MCP server whose name resolves to an internal address is refused by the egress guard before any request', async () => {
    const strict = await createTestContext({ resolveHost: async () => [{ address: '127.0.0.1', family: 4 }] });
    try {
      const cfg = await strict.http
        .post('/api/v3.1/auth_configs')
        .set('x-api-key', strict.apiKey)
        .send({ toolkit: { slug: 'mcp' }, auth_config: { type: 'use_custom_auth', authScheme: 'DCR_OAUTH', credentials: { mcp_url: 'https://mcp.internal.example/mcp' } } });
      expect(cfg.status).toBe(201);
      const res = await strict.http
        .post('/api/v3.1/connected_accounts')
        .set('x-api-key', strict.apiKey)
        .send({ auth_config: { id: cfg.body.auth_config.id }, connection: { user_id: 'ada' } });
      expect(res.status).toBe(502);
      expect(errorOf(res.body).message).toContain('egress_refused');
    } finally {
      await strict.close();
    }
  });
});

describe('CIMD_OAUTH: Latchkey\'s client ID is its metadata document URL', () => {
  let https: TestContext;
  beforeAll(async () => {
    // The document URL must be https; the test never needs the browser to reach it.
    https = await createTestContext({ config: { OAUTH_ALLOW_INSECURE_LOOPBACK: true, publicUrl: 'https://latchkey.example' } });
  });
  afterAll(() => https?.close());

  it('serves the document, uses it as client_id, and completes without registering', async () => {
    server.options.cimd = true;
    const cfgRes = await https.http
      .post('/api/v3.1/auth_configs')
      .set('x-api-key', https.apiKey)
      .send({ toolkit: { slug: 'mcp' }, auth_config: { type: 'use_custom_auth', authScheme: 'CIMD_OAUTH', credentials: { mcp_url: server.resource } } });
    expect(cfgRes.status).toBe(201);
    const cfg = cfgRes.body.auth_config.id as string;
    const doc = await https.http.get(`/oauth/client-metadata/${cfg}.json`);
    expect(doc.status).toBe(200);
    expect(doc.body).toEqual({
      client_id: `https://latchkey.example/oauth/client-metadata/${cfg}.json`,
      client_name: 'Latchkey',
      redirect_uris: ['https://latchkey.example/api/v3/toolkits/auth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      client_uri: 'https://latchkey.example',
    });
    // The authorization server "fetches" it (a loopback test cannot serve the https URL).
    server.cimdDocuments.set(doc.body.client_id, doc.body);
    const registrations = server.registeredClients();

    const created = await https.http.post('/api/v3.1/connected_accounts').set('x-api-key', https.apiKey).send({ auth_config: { id: cfg }, connection: { user_id: 'ada' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.connectionData).toMatchObject({ authScheme: 'CIMD_OAUTH', val: { client_id: doc.body.client_id } });
    const atServer = await visit(created.body.redirect_url);
    expect(atServer.status).toBe(302);
    const back = new URL(atServer.location!);
    const landed = await https.http.get(`${back.pathname}${back.search}`);
    expect(landed.status, landed.text).toBe(200);
    const account = await https.http.get(`/api/v3.1/connected_accounts/${created.body.id}`).set('x-api-key', https.apiKey);
    expect(account.body.status).toBe('ACTIVE');
    expect(server.registeredClients()).toBe(registrations);

    expect((await https.http.get('/oauth/client-metadata/ac_unknown123.json')).status).toBe(404);
    expect((await https.http.get(`/oauth/client-metadata/${authConfigId}.json`)).status).toBe(404);
  });

  it('a server that does not advertise CIMD is refused; so is CIMD without an https PUBLIC_URL', async () => {
    const cfgRes = await https.http
      .post('/api/v3.1/auth_configs')
      .set('x-api-key', https.apiKey)
      .send({ toolkit: { slug: 'mcp' }, auth_config: { type: 'use_custom_auth', authScheme: 'CIMD_OAUTH', credentials: { mcp_url: server.resource } } });
    const res = await https.http.post('/api/v3.1/connected_accounts').set('x-api-key', https.apiKey).send({ auth_config: { id: cfgRes.body.auth_config.id }, connection: { user_id: 'ada' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).message).toContain('registration_unsupported');

    server.options.cimd = true;
    const plain = await createAuthConfig(env, 'mcp', 'CIMD_OAUTH', { mcp_url: server.resource });
    const res2 = await call(env).post('/connected_accounts', { auth_config: { id: plain }, connection: { user_id: 'ada' } });
    expect(res2.status).toBe(400);
    expect(errorOf(res2.body).message).toContain('https');
  });
});
