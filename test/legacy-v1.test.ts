/**
 * The older Composio clients against Latchkey: composio-core 0.5.39 (unchanged, from npm) on a
 * loopback port runs every flow of the older docs — expected params, integration creation, API-key
 * and OAuth connections (OAuth against the in-process authorization server), waitUntilActive, get,
 * auth params, an entity's connections, labels — and the raw /api/v1 + /api/v2 shapes are checked
 * field by field, including composio-core 0.4's POST /api/v1/connectedAccounts body. Every change is
 * cross-checked through /api/v3.1: one model, two views.
 *
 * The client asks the npm registry for its latest version when constructed (it cannot be turned
 * off): that request is refused locally by an interceptor on the client's own axios, so it can
 * neither hang nor reach the network, and the client swallows the failure.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AxiosStatic, InternalAxiosRequestConfig } from 'axios';
import type { OpenAIToolSet as ToolSet } from 'composio-core';
import { expectEnvelope } from './support/expect.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';
import { type OAuthEnv, consent, startOAuthEnv, visit } from './support/oauth-app.js';
import { type MockProvider, startProvider } from './support/oauth-server.js';

const V1 = '/api/v1';
const AC_ID = /^ac_[0-9A-Za-z]+$/;
const CA_ID = /^ca_[0-9A-Za-z]+$/;
const GITHUB_APP = { client_id: 'gh-client-id', client_secret: 'gh-client-secret-123' };

let provider: MockProvider;
let env: OAuthEnv;
let toolset: ToolSet;
/** Every request the client sent: method and path with query. */
const sent: string[] = [];
/** Requests that tried to leave the loopback server (the version check). */
const refused: string[] = [];

type Http = ReturnType<typeof rawApi>;
const rawApi = (apiKey: string) => ({
  get: (path: string) => env.ctx.http.get(path).set('x-api-key', apiKey),
  post: (path: string, body: object) => env.ctx.http.post(path).set('x-api-key', apiKey).send(body),
});
let raw: Http;

beforeAll(async () => {
  process.env.TELEMETRY_DISABLED = 'true';
  process.env.COMPOSIO_LOGGING_LEVEL = 'silent';
  provider = await startProvider();
  env = await startOAuthEnv(provider);
  raw = rawApi(env.ctx.apiKey);

  // The axios composio-core itself uses: refuse anything that is not the loopback server.
  const clientRequire = createRequire(createRequire(import.meta.url).resolve('composio-core'));
  const axios = clientRequire('axios') as AxiosStatic;
  const guard = (config: InternalAxiosRequestConfig) => {
    const url = new URL(axios.getUri(config), env.baseUrl);
    if (url.origin !== env.baseUrl) {
      refused.push(url.origin);
      throw new Error(`test: no network beyond ${env.baseUrl}`);
    }
    sent.push(`${(config.method ?? 'get').toUpperCase()} ${url.pathname}${url.search}`);
    return config;
  };
  axios.interceptors.request.use(guard);

  const { OpenAIToolSet } = await import('composio-core');
  toolset = new OpenAIToolSet({ apiKey: env.ctx.apiKey, baseUrl: env.baseUrl });
  toolset.client.backendClient.getAxiosInstance().interceptors.request.use(guard);
  // Loading composio-core (with openai) and a fresh database is slow on a busy machine: a bound, not a speed check.
}, 180_000);

afterAll(async () => {
  await env?.ctx.close();
  await provider?.stop();
});

const since = (from: number) => sent.slice(from);

describe('composio-core 0.5.39, the flows of the older docs', () => {
  let linearIntegration = '';
  let githubIntegration = '';
  let jessica = '';

  it('expected params for an API-key app, first time: creates the integration and reads it back', async () => {
    const from = sent.length;
    const params = await toolset.client.getExpectedParamsForUser({ app: 'linear', authScheme: 'API_KEY' });
    expect(params).toEqual({
      integrationId: expect.stringMatching(AC_ID),
      authScheme: 'API_KEY',
      expectedInputFields: [
        {
          name: 'api_key',
          display_name: 'API Key',
          description: expect.stringMatching(/API key/i),
          type: 'string',
          required: true,
          default: null,
          expected_from_customer: true,
          is_secret: true,
        },
      ],
    });
    linearIntegration = params.integrationId!;
    expect(since(from).map((s) => s.split('?')[0])).toEqual([
      `GET ${V1}/integrations`,
      `GET ${V1}/apps/linear`,
      `GET ${V1}/apps`,
      'POST /api/v2/integrations/create',
      `GET ${V1}/integrations/${linearIntegration}`,
    ]);
    // The same row through v3.1.
    const cfg = await raw.get(`/api/v3.1/auth_configs/${linearIntegration}`).expect(200);
    expect(cfg.body).toMatchObject({ toolkit: { slug: 'linear' }, auth_scheme: 'API_KEY', is_composio_managed: false, status: 'ENABLED' });

    // Second time: the integration is found, nothing is created.
    const again = sent.length;
    expect((await toolset.client.getExpectedParamsForUser({ app: 'linear', authScheme: 'API_KEY' })).integrationId).toBe(linearIntegration);
    expect(since(again).map((s) => s.split('?')[0])).toEqual([`GET ${V1}/integrations`, `GET ${V1}/integrations/${linearIntegration}`]);
  });

  it('expected params for an OAuth app: none without an integration, then after integrations.create', async () => {
    await expect(toolset.client.getExpectedParamsForUser({ app: 'github' })).rejects.toThrow(/No default credentials/);
    expect((await raw.get('/api/v3.1/auth_configs?toolkit_slug=github').expect(200)).body.items).toEqual([]);

    const created = await toolset.client.integrations.create({
      appUniqueKey: 'github',
      name: 'GitHub app',
      authScheme: 'OAUTH2',
      authConfig: GITHUB_APP,
      useComposioAuth: false,
    });
    expect(created).toMatchObject({ id: expect.stringMatching(AC_ID), appName: 'github', authScheme: 'OAUTH2', useComposioAuth: false, enabled: true, name: 'GitHub app' });
    // The client secret is masked in the old view as in the new one.
    expect(created.authConfig).toEqual({ client_id: GITHUB_APP.client_id, client_secret: '********' });
    githubIntegration = created.id!;
    const params = await toolset.client.getExpectedParamsForUser({ app: 'github' });
    expect(params).toEqual({ integrationId: githubIntegration, authScheme: 'OAUTH2', expectedInputFields: [] });

    // The acme OAuth app of this project (a custom toolkit), made through v3.1, is visible here.
    expect(await toolset.client.getExpectedParamsForUser({ app: 'acme' })).toEqual({ integrationId: env.authConfigId, authScheme: 'OAUTH2', expectedInputFields: [] });
  });

  it('initiate for an API-key app is ACTIVE at once; waitUntilActive, get and auth params', async () => {
    const request = await toolset.client.connectedAccounts.initiate({
      integrationId: linearIntegration,
      entityId: 'jessica',
      connectionParams: { api_key: 'lin_api_jessica' },
      redirectUri: 'https://app.example.com/done',
    });
    expect(request.connectionStatus).toBe('ACTIVE');
    expect(request.connectedAccountId).toMatch(CA_ID);
    expect(request.redirectUrl).toBeNull();
    jessica = request.connectedAccountId;

    const from = sent.length;
    const active = await request.waitUntilActive(30);
    expect(since(from)).toEqual([`GET ${V1}/connectedAccounts/${jessica}`]);
    expect(active.status).toBe('ACTIVE');

    const got = await toolset.client.connectedAccounts.get({ connectedAccountId: jessica });
    expect(got).toMatchObject({
      id: jessica,
      status: 'ACTIVE',
      appName: 'linear',
      appUniqueId: 'linear',
      integrationId: linearIntegration,
      clientUniqueUserId: 'jessica',
      entityId: 'jessica',
      enabled: true,
      isDisabled: false,
      labels: [],
      connectionParams: { api_key: 'lin_api_jessica', headers: { Authorization: 'lin_api_jessica' }, queryParams: {}, base_url: 'https://api.linear.app' },
    });
    expect(Number.isNaN(Date.parse(got.createdAt))).toBe(false);

    // Auth params: the client's own HTTP client on the route its generated code calls.
    const info = await toolset.client.backendClient.getAxiosInstance().get(`${V1}/connectedAccounts/${jessica}/info`);
    expect(info.data).toEqual({ base_url: 'https://api.linear.app', parameters: [{ name: 'Authorization', in: 'header', value: 'lin_api_jessica' }], body: {} });
    expect(info.data).toEqual((await raw.get(`/api/v3.1/connected_accounts/${jessica}/auth_params`).expect(200)).body);

    // One model: v3.1 sees the account as created here.
    expect((await raw.get(`/api/v3.1/connected_accounts/${jessica}`).expect(200)).body).toMatchObject({ user_id: 'jessica', status: 'ACTIVE', toolkit: { slug: 'linear' } });
  });

  it("an entity's connections, and the active ones", async () => {
    await apiKeyAccount(env.ctx, linearIntegration, { userId: 'melissa', key: 'lin_api_melissa' });
    const entity = await toolset.getEntity('jessica');
    const from = sent.length;
    const connections = await entity.getConnections();
    expect(since(from)).toEqual([`GET ${V1}/connectedAccounts?user_uuid=jessica`]);
    expect(connections.map((c) => c.id)).toEqual([jessica]);

    const active = await toolset.client.connectedAccounts.list({ entityId: 'jessica', showActiveOnly: true });
    expect(active.items.map((c) => c.id)).toEqual([jessica]);
    expect(active).toMatchObject({ totalPages: 1, page: 1 });

    // Disabled through v3.1: still ACTIVE in the old words, but not enabled, and not "active only".
    await env.ctx.http.patch(`/api/v3.1/connected_accounts/${jessica}/status`).set('x-api-key', env.ctx.apiKey).send({ enabled: false }).expect(200);
    expect((await toolset.client.connectedAccounts.get({ connectedAccountId: jessica })).isDisabled).toBe(true);
    expect((await toolset.client.connectedAccounts.list({ entityId: 'jessica', showActiveOnly: true })).items).toEqual([]);
    await env.ctx.http.patch(`/api/v3.1/connected_accounts/${jessica}/status`).set('x-api-key', env.ctx.apiKey).send({ enabled: true }).expect(200);
  });

  it('OAuth: initiate is INITIATED with a consent URL; the callback lands on the app with connectedAccountId and connection_status', async () => {
    const entity = await toolset.getEntity('oauth-user');
    const request = await entity.initiateConnection({ appName: 'acme', integrationId: env.authConfigId, redirectUri: 'https://app.example.com/after' });
    expect(request.connectionStatus).toBe('INITIATED');
    expect(request.redirectUrl).toMatch(/^http:\/\/(127\.0\.0\.1|localhost):\d+\/authorize\?/);
    const id = request.connectedAccountId;
    expect((await toolset.client.connectedAccounts.get({ connectedAccountId: id })).status).toBe('INITIATED');

    const landed = await visit(await consent(request.redirectUrl!));
    expect(landed.status).toBe(302);
    const back = new URL(landed.location!);
    expect(back.origin + back.pathname).toBe('https://app.example.com/after');
    expect(back.searchParams.get('connectedAccountId')).toBe(id);
    expect(back.searchParams.get('connection_status')).toBe('ACTIVE');

    const active = await request.waitUntilActive(30);
    expect(active.status).toBe('ACTIVE');
    const got = await toolset.client.connectedAccounts.get({ connectedAccountId: id });
    expect((got as unknown as { connectionParams: object }).connectionParams).toMatchObject({ headers: { Authorization: expect.stringMatching(/^Bearer /) }, access_token: expect.any(String) });
  });

  it('labels on initiate are stored, and a list filtered by labels returns only the matching accounts', async () => {
    const entity = await toolset.getEntity('labelled');
    const initiate = (labels: string[] | undefined, key: string) =>
      entity.initiateConnection({ appName: 'linear', integrationId: linearIntegration, connectionParams: { api_key: key }, ...(labels ? { labels } : {}) });
    const request = await initiate(['primary'], 'lin_api_labelled');
    const other = await initiate(['secondary', 'team:ops'], 'lin_api_other');
    const unlabelled = await initiate(undefined, 'lin_api_none');
    expect(request.connectionStatus).toBe('ACTIVE');
    const got = await toolset.client.connectedAccounts.get({ connectedAccountId: request.connectedAccountId });
    expect(got.status).toBe('ACTIVE');

    const only = await toolset.client.connectedAccounts.list({ labels: 'primary' });
    expect(only.items.map((c) => c.id)).toEqual([request.connectedAccountId]);
    expect((only.items[0] as unknown as { labels: string[] }).labels).toEqual(['primary']);
    // Any of the labels matches; accounts without them never do.
    const either = await toolset.client.connectedAccounts.list({ labels: 'primary,team:ops' });
    expect(new Set(either.items.map((c) => c.id))).toEqual(new Set([request.connectedAccountId, other.connectedAccountId]));
    expect(either.items.map((c) => c.id)).not.toContain(unlabelled.connectedAccountId);
    // The same labels through v3.1.
    const v3 = await raw.get(`/api/v3.1/connected_accounts/${other.connectedAccountId}`).expect(200);
    expect(v3.body.labels).toEqual(['secondary', 'team:ops']);
  });

  it('labels on the 0.4 body are stored; a label outside the allowed characters is a 400', async () => {
    const made = await raw.post(`${V1}/connectedAccounts`, { integrationId: linearIntegration, entityId: 'labelled-04', data: { api_key: 'lin_api_04' }, labels: ['legacy-04'] });
    expect(made.status).toBeLessThan(300);
    const listed = await raw.get(`${V1}/connectedAccounts?labels=legacy-04`).expect(200);
    expect(listed.body.items.map((c: { id: string; labels: string[] }) => [c.id, c.labels])).toEqual([[made.body.connectedAccountId, ['legacy-04']]]);
    await raw.post(`${V1}/connectedAccounts`, { integrationId: linearIntegration, data: { api_key: 'lin_api_04' }, labels: ['has space'] }).expect(400);
  });

  it('a missing required field is a 400 whose message names it', async () => {
    const err = await toolset.client.connectedAccounts.initiate({ integrationId: linearIntegration, entityId: 'nobody', connectionParams: {} }).catch((e: unknown) => e);
    // composio-core shows the details of a 400 as the error's description.
    expect(err).toMatchObject({ description: expect.stringMatching(/Field api_key is required/) });
  });

  it('every request went to the loopback server; the version check was refused locally', () => {
    expect(sent.length).toBeGreaterThan(20);
    expect(new Set(refused)).toEqual(new Set(refused.length ? ['https://registry.npmjs.org'] : []));
  });
});

describe('the old shapes, field by field', () => {
  it('GET /api/v1/apps and /apps/{key}', async () => {
    const list = await raw.get(`${V1}/apps`).expect(200);
    const linear = (list.body.items as { key: string }[]).find((a) => a.key === 'linear');
    expect(linear).toEqual({ appId: 'linear', key: 'linear', name: 'Linear', description: expect.any(String), logo: expect.any(String), categories: ['Project Management', 'Developer Tools'], enabled: true, no_auth: false });
    expect((list.body.items as { key: string }[]).map((a) => a.key)).toContain('acme');

    const app = await raw.get(`${V1}/apps/LINEAR`).expect(200);
    expect(app.body.auth_schemes.map((s: { mode: string }) => s.mode)).toEqual(['OAUTH2', 'API_KEY']);
    const oauth = app.body.auth_schemes[0].fields as { name: string; expected_from_customer: boolean }[];
    expect(oauth.filter((f) => !f.expected_from_customer).map((f) => f.name)).toEqual(['client_id', 'client_secret', 'scopes', 'oauth_redirect_uri']);
    expect(app.body.auth_schemes[1].fields).toEqual([expect.objectContaining({ name: 'api_key', expected_from_customer: true, required: true, is_secret: true })]);
    expect(app.body.testConnectors).toEqual([]);
    expect((await raw.get(`${V1}/apps/stripe`).expect(200)).body.testConnectors).toEqual([{ id: 'managed_stripe_api_key', name: expect.any(String), authScheme: 'API_KEY' }]);
    expectEnvelope(await raw.get(`${V1}/apps/nope`), 404, 'Toolkit_ResourceNotFound');
  });

  it('integrations: list with appName, pages, showDisabled', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await raw.post('/api/v2/integrations/create', { app: { uniqueKey: 'openai' }, config: { name: `openai ${i}`, authScheme: 'API_KEY', integrationSecrets: {}, useComposioAuth: false } }).expect(200)).body.integrationId);
    const p1 = await raw.get(`${V1}/integrations?appName=openai&pageSize=2`).expect(200);
    expect(p1.body).toMatchObject({ totalPages: 2, page: 1 });
    const p2 = await raw.get(`${V1}/integrations?appName=openai&pageSize=2&page=2`).expect(200);
    expect([...p1.body.items, ...p2.body.items].map((i: { id: string }) => i.id).sort()).toEqual([...ids].sort());
    expect((await raw.get(`${V1}/integrations?appName=openai&pageSize=2&page=3`).expect(200)).body.items).toEqual([]);

    await env.ctx.http.patch(`/api/v3.1/auth_configs/${ids[0]}/DISABLED`).set('x-api-key', env.ctx.apiKey).expect(200);
    expect((await raw.get(`${V1}/integrations?appName=openai&showDisabled=false`).expect(200)).body.items).toHaveLength(2);
    const all = await raw.get(`${V1}/integrations?appName=openai&showDisabled=true`).expect(200);
    expect(all.body.items.find((i: { id: string }) => i.id === ids[0])).toMatchObject({ enabled: false, appName: 'openai', appId: 'openai' });
  });

  it('integration create: managed needs operator credentials where the app has OAuth2, and says how', async () => {
    const res = await raw.post('/api/v2/integrations/create', { app: { uniqueKey: 'github' }, config: { name: 'x', useComposioAuth: true } });
    const e = expectEnvelope(res, 400, 'AuthConfig_InvalidRequest');
    expect(e.message).toMatch(/LATCHKEY_MANAGED_GITHUB_CLIENT_ID/);
    expect(res.body.message).toBe(e.message);
    expectEnvelope(await raw.post('/api/v2/integrations/create', { app: { uniqueKey: 'github' }, config: { authScheme: 'OAUTH2', integrationSecrets: {} } }), 400, 'AuthConfig_InvalidRequest');
    expectEnvelope(await raw.post('/api/v2/integrations/create', { app: {}, config: {} }), 400, 'Request_ValidationError');
  });

  it("POST /api/v1/connectedAccounts, composio-core 0.4's body: userUuid, data, redirectUri, labels", async () => {
    const cfg = await linearConfig(env.ctx);
    const res = await raw.post(`${V1}/connectedAccounts`, { integrationId: cfg, data: { api_key: 'lin_api_04' }, userUuid: 'user-04', redirectUri: 'https://app.example.com/x', labels: ['primary'] }).expect(200);
    expect(res.body).toEqual({ connectionStatus: 'ACTIVE', connectedAccountId: expect.stringMatching(CA_ID), redirectUrl: null, integrationId: cfg });
    const v3 = await raw.get(`/api/v3.1/connected_accounts/${res.body.connectedAccountId}`).expect(200);
    expect(v3.body).toMatchObject({ user_id: 'user-04', status: 'ACTIVE', state: { val: { api_key: 'lin_api_04' } } });

    // No entity: "default". An empty body's required field is named in the message.
    const dflt = await raw.post(`${V1}/connectedAccounts`, { integrationId: cfg, data: { api_key: 'lin_api_default' } }).expect(200);
    expect((await raw.get(`${V1}/connectedAccounts/${dflt.body.connectedAccountId}`).expect(200)).body.entityId).toBe('default');
    const missing = await raw.post(`${V1}/connectedAccounts`, { integrationId: cfg, data: {}, userUuid: 'u' });
    expectEnvelope(missing, 400, 'ConnectedAccount_InvalidRequest');
    expect(missing.body.message).toBe('Field api_key is required');
    expect(missing.body.details).toEqual(['Field api_key is required']);
    expect(missing.body.error.errors).toEqual(['connection.state.val.api_key: required']);

    expectEnvelope(await raw.post(`${V1}/connectedAccounts`, { integrationId: cfg, data: { api_key: 'x' }, redirectUri: 'javascript:alert(1)' }), 400, 'Request_ValidationError');
    expectEnvelope(await raw.post(`${V1}/connectedAccounts`, { data: { api_key: 'x' } }), 400, 'Request_ValidationError');
  });

  it('initiateConnection by app key alone uses the project integration; without one it says what to do', async () => {
    const res = await raw.post('/api/v2/connectedAccounts/initiateConnection', { app: { uniqueKey: 'acme' }, config: { useComposioAuth: false }, connection: { entityId: 'by-key', initiateData: {}, extra: { redirectURL: '' } } }).expect(200);
    expect(res.body).toEqual({ connectionResponse: { connectionStatus: 'INITIATED', connectedAccountId: expect.stringMatching(CA_ID), redirectUrl: expect.stringMatching(/^http/) }, integrationId: env.authConfigId });
    const none = await raw.post('/api/v2/connectedAccounts/initiateConnection', { app: { uniqueKey: 'slack' }, config: { useComposioAuth: false }, connection: {} });
    expect(expectEnvelope(none, 404, 'AuthConfig_ResourceNotFound').message).toMatch(/slack/);
    expect(none.body.message).toMatch(/No integration for app slack/);
  });

  it('lists map statuses and filter by status, appNames, integrationId; INITIATED covers a started OAuth', async () => {
    const initiated = await raw.get(`${V1}/connectedAccounts?status=INITIATED&pageSize=1000`).expect(200);
    expect(initiated.body.items.length).toBeGreaterThan(0);
    expect(new Set(initiated.body.items.map((i: { status: string }) => i.status))).toEqual(new Set(['INITIATED']));
    const byApp = await raw.get(`${V1}/connectedAccounts?appNames=acme`).expect(200);
    expect(new Set(byApp.body.items.map((i: { appName: string }) => i.appName))).toEqual(new Set(['acme']));
    const byIntegration = await raw.get(`${V1}/connectedAccounts?integrationId=${env.authConfigId}&status=ACTIVE`).expect(200);
    expect(byIntegration.body.items.every((i: { integrationId: string; status: string }) => i.integrationId === env.authConfigId && i.status === 'ACTIVE')).toBe(true);
    expectEnvelope(await raw.get(`${V1}/connectedAccounts?status=INITIALIZING`), 400, 'Request_ValidationError');
    expectEnvelope(await raw.get(`${V1}/connectedAccounts?page=0`), 400, 'Request_ValidationError');
  });

  it('connectionParams and auth params follow the masking settings of v3.1', async () => {
    const cfg = await linearConfig(env.ctx);
    const id = await apiKeyAccount(env.ctx, cfg, { userId: 'masked', key: 'lin_api_secret_value' });
    const { apiKey: key } = await env.ctx.app.services.projects.createKey(env.ctx.projectId, 'masked', { masked: true });
    const masked = rawApi(key);
    const got = await masked.get(`${V1}/connectedAccounts/${id}`).expect(200);
    expect(got.body.connectionParams).toMatchObject({ api_key: '********', headers: { Authorization: '********' } });
    expect(JSON.stringify(got.body)).not.toContain('lin_api_secret_value');
    const info = await masked.get(`${V1}/connectedAccounts/${id}/info`).expect(200);
    expect(info.body.parameters).toEqual([{ name: 'Authorization', in: 'header', value: '********' }]);
    const listed = await masked.get(`${V1}/connectedAccounts?user_uuid=masked`).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain('lin_api_secret_value');
  });
});

describe('tenancy through the old routes', () => {
  it("another project's integrations and accounts are 404, and its lists are empty", async () => {
    const cfg = await linearConfig(env.ctx);
    const id = await apiKeyAccount(env.ctx, cfg, { userId: 'mine' });
    const other = rawApi((await env.ctx.newProject()).apiKey);
    expectEnvelope(await other.get(`${V1}/integrations/${cfg}`), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await other.get(`${V1}/connectedAccounts/${id}`), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await other.get(`${V1}/connectedAccounts/${id}/info`), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await other.post(`${V1}/connectedAccounts`, { integrationId: cfg, data: { api_key: 'x' } }), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(
      await other.post('/api/v2/connectedAccounts/initiateConnection', { app: { integrationId: cfg }, connection: { initiateData: { api_key: 'x' } } }),
      404,
      'AuthConfig_ResourceNotFound',
    );
    expect((await other.get(`${V1}/integrations`).expect(200)).body.items).toEqual([]);
    expect((await other.get(`${V1}/connectedAccounts?user_uuid=mine`).expect(200)).body.items).toEqual([]);
    expect((await other.get(`${V1}/apps/acme`)).status).toBe(404); // a custom toolkit is its project's only
    const noKey = await env.ctx.http.get(`${V1}/connectedAccounts/${id}`);
    expectEnvelope(noKey, 401, 'Auth_MissingApiKey');
    expect(noKey.body.message).toBe('Missing API key');
  });
});
