/**
 * The real Composio TypeScript SDK (@composio/core 0.19.0) against a running Latchkey on a loopback
 * port: auth configs, toolkits and the whole connected-account lifecycle, as an SDK user would drive
 * them. The SDK only *logs* when a response fails its own schema ("Transform validation failed",
 * "Unsupported auth scheme ..."), so every console warning or error the SDK prints fails the test
 * that caused it. 0.19.0 takes no `logger`/`logLevel` option (its logger is a module singleton that
 * writes to `console`), so console.warn/console.error are captured instead. Every request the SDK
 * makes is recorded through a fetch spy: it must go to the loopback server only.
 */
import type { AddressInfo } from 'node:net';
import {
  AuthScheme,
  Composio,
  ComposioAclOnlyForSharedError,
  ComposioConnectedAccountNotFoundError,
  ComposioMultipleConnectedAccountsError,
  ComposioToolkitNotFoundError,
  ConnectionRequestTimeoutError,
  type ConnectedAccountListParams,
  ComposioAuthConfigNotFoundError,
  WebhookEventSchema,
} from '@composio/core';
import { type MockInstance, afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { type OAuthEnv, connect, expireToken, getAccount, startOAuthEnv } from './support/oauth-app.js';
import { type MockProvider, fail, startProvider } from './support/oauth-server.js';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';

const V = '/api/v3.1';
const AC_ID = /^ac_[0-9A-Za-z]{6,40}$/;
const CA_ID = /^ca_[0-9A-Za-z]{6,40}$/;
const DISABLED_BY_USER = 'Connection status updated by user';

let ctx: TestContext;
let composio: Composio;
let baseURL: string;

// ---- what the SDK prints and what it sends -------------------------------------------------------

type Logged = { level: 'warn' | 'error'; text: string };
const logged: Logged[] = [];
const spies: MockInstance[] = [];
const render = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.stack ?? a.message : JSON.stringify(a))).join(' ');

type Sent = { method: string; url: URL; body: unknown; apiKey: string | null };
const sent: Sent[] = [];
/** Loopback servers besides `baseURL` that a test talks to on purpose. */
const otherOrigins: string[] = [];
const realFetch = globalThis.fetch;

/** Removes and returns the logged lines matching `re` (for warnings a test expects). */
function takeLogs(re: RegExp): Logged[] {
  const hit = logged.filter((l) => re.test(l.text));
  for (const h of hit) logged.splice(logged.indexOf(h), 1);
  return hit;
}

/** The requests sent since `from` (an index into `sent`). */
const sentSince = (from: number) => sent.slice(from);
const describeReq = (r: Sent) => `${r.method} ${r.url.pathname}${r.url.search}`;

// ---- raw API, for cross-checks ------------------------------------------------------------------

const raw = {
  get: (path: string) => ctx.http.get(`${V}${path}`).set('x-api-key', ctx.apiKey),
  patch: (path: string, body: object) => ctx.http.patch(`${V}${path}`).set('x-api-key', ctx.apiKey).send(body),
  post: (path: string, body: object) => ctx.http.post(`${V}${path}`).set('x-api-key', ctx.apiKey).send(body),
};

type RawAccount = { id: string; user_id: string; status: string; state: { authScheme: string; val: Record<string, unknown> } };
type RawList = { items: RawAccount[]; next_cursor: string | null; total_pages: number; total_items: number };

async function rawAccount(id: string): Promise<RawAccount> {
  const res = await raw.get(`/connected_accounts/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as RawAccount;
}

// ---- setup ---------------------------------------------------------------------------------------

beforeAll(async () => {
  ctx = await createTestContext();
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = ctx.app.server.address() as AddressInfo;
  baseURL = `http://127.0.0.1:${port}`;

  for (const level of ['warn', 'error'] as const) {
    spies.push(
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push({ level, text: render(args) });
      }),
    );
  }
  // The SDK's HTTP client captures the global fetch when it is constructed: spy before that.
  spies.push(
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : init?.body;
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      sent.push({ method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(), url, body, apiKey: headers.get('x-api-key') });
      return realFetch(input, init);
    }),
  );

  composio = new Composio({ apiKey: ctx.apiKey, baseURL, allowTracking: false, disableVersionCheck: true });
});

afterEach(() => {
  const unexpected = logged.splice(0, logged.length);
  expect(unexpected, 'the SDK logged warnings or errors').toEqual([]);
});

afterAll(async () => {
  for (const s of spies) s.mockRestore();
  await ctx?.close();
});

// ---- shared state across the ordered tests below --------------------------------------------------

let linearKeys = ''; // the main API_KEY auth config on linear
let linearTeam = ''; // a second linear API_KEY config
let openaiKeys = ''; // an API_KEY config on another toolkit
const acc = { jessica: '', melissa: '', jessica2: '', jessicaTeam: '', melissaOpenai: '' };

describe('auth configs through the SDK', () => {
  it('creates a custom API_KEY auth config (authScheme camelCase on the wire) and reads it back', async () => {
    const from = sent.length;
    const created = await composio.authConfigs.create('linear', { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {}, name: 'Linear keys' });
    expect(created).toEqual({ id: expect.stringMatching(AC_ID), authScheme: 'API_KEY', isComposioManaged: false, toolkit: 'linear' });
    linearKeys = created.id;

    const [post] = sentSince(from);
    expect(post && describeReq(post)).toBe(`POST ${V}/auth_configs`);
    expect(post?.body).toEqual({
      toolkit: { slug: 'linear' },
      auth_config: { type: 'use_custom_auth', name: 'Linear keys', authScheme: 'API_KEY', credentials: {} },
    });

    const got = await composio.authConfigs.get(linearKeys);
    expect(got).toEqual({
      id: linearKeys,
      name: 'Linear keys',
      noOfConnections: 0,
      status: 'ENABLED',
      toolkit: { slug: 'linear', logo: 'https://linear.app/favicon.ico' },
      isEnabledForToolRouter: false,
      authScheme: 'API_KEY',
      credentials: {},
      expectedInputFields: [],
      isComposioManaged: false,
      createdAt: expect.any(String),
      lastUpdatedAt: expect.any(String),
      restrictToFollowingTools: [],
      toolAccessConfig: { toolsAvailableForExecution: [], toolsForConnectedAccountCreation: [] },
    });
    expect(Number.isNaN(Date.parse(got.createdAt ?? ''))).toBe(false);

    // Two more, for the filters below.
    linearTeam = (await composio.authConfigs.create('linear', { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {}, name: 'Linear team keys' })).id;
    openaiKeys = (await composio.authConfigs.create('openai', { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} })).id;
    expect(new Set([linearKeys, linearTeam, openaiKeys]).size).toBe(3);
    expect((await composio.authConfigs.get(openaiKeys)).name).toBe('OpenAI Auth Config');
  });

  it('rejects a scheme the toolkit does not have, and an unknown auth config', async () => {
    await expect(composio.authConfigs.create('openai', { type: 'use_custom_auth', authScheme: 'BASIC', credentials: {} })).rejects.toMatchObject({ status: 400 });
    await expect(composio.authConfigs.get('ac_doesnotexist1')).rejects.toMatchObject({ status: 404 });
  });

  it('lists with the toolkit filter, newest first', async () => {
    const from = sent.length;
    const linear = await composio.authConfigs.list({ toolkit: 'linear' });
    expect(sentSince(from).map(describeReq)).toEqual([`GET ${V}/auth_configs?toolkit_slug=linear`]);
    expect(linear.items.map((i) => i.id)).toEqual([linearTeam, linearKeys]);
    expect(linear.nextCursor).toBeNull();
    expect(linear.totalPages).toBe(1);

    const all = await composio.authConfigs.list();
    expect(all.items.map((i) => i.id)).toEqual([openaiKeys, linearTeam, linearKeys]);
    expect((await composio.authConfigs.list({ toolkit: 'openai' })).items.map((i) => i.id)).toEqual([openaiKeys]);
    expect((await composio.authConfigs.list({ toolkit: 'github' })).items).toEqual([]);

    const page1 = await composio.authConfigs.list({ limit: 2 });
    expect(page1.items.map((i) => i.id)).toEqual([openaiKeys, linearTeam]);
    expect(page1.totalPages).toBe(2);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await composio.authConfigs.list({ limit: 2, cursor: page1.nextCursor ?? undefined });
    expect(page2.items.map((i) => i.id)).toEqual([linearKeys]);
    expect(page2.nextCursor).toBeNull();
  });

  it('update (type custom) is a true patch; the name changes through the raw API', async () => {
    const from = sent.length;
    expect(await composio.authConfigs.update(linearKeys, { type: 'custom', credentials: { region: 'eu' }, isEnabledForToolRouter: true, restrictToFollowingTools: ['LINEAR_LIST_ISSUES'] })).toEqual({});
    const [patch] = sentSince(from);
    expect(patch && describeReq(patch)).toBe(`PATCH ${V}/auth_configs/${linearKeys}`);
    expect(patch?.body).toEqual({
      type: 'custom',
      credentials: { region: 'eu' },
      is_enabled_for_tool_router: true,
      tool_access_config: { tools_available_for_execution: ['LINEAR_LIST_ISSUES'] },
    });

    let got = await composio.authConfigs.get(linearKeys);
    expect(got).toMatchObject({
      name: 'Linear keys',
      credentials: { region: 'eu' },
      isEnabledForToolRouter: true,
      toolAccessConfig: { toolsAvailableForExecution: ['LINEAR_LIST_ISSUES'], toolsForConnectedAccountCreation: [] },
    });

    // The SDK always sends tool_access_config (here {}), and credentials merge key by key.
    expect(await composio.authConfigs.update(linearKeys, { type: 'custom', credentials: { team: 'core' } })).toEqual({});
    got = await composio.authConfigs.get(linearKeys);
    expect(got).toMatchObject({
      name: 'Linear keys',
      credentials: { region: 'eu', team: 'core' },
      isEnabledForToolRouter: true,
      toolAccessConfig: { toolsAvailableForExecution: ['LINEAR_LIST_ISSUES'], toolsForConnectedAccountCreation: [] },
    });

    // The SDK's update has no name: rename through the API; nothing else moves.
    const renamed = await raw.patch(`/auth_configs/${linearKeys}`, { type: 'custom', name: 'Linear keys (renamed)' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toEqual({});
    got = await composio.authConfigs.get(linearKeys);
    expect(got).toMatchObject({
      name: 'Linear keys (renamed)',
      status: 'ENABLED',
      authScheme: 'API_KEY',
      credentials: { region: 'eu', team: 'core' },
      isEnabledForToolRouter: true,
      toolAccessConfig: { toolsAvailableForExecution: ['LINEAR_LIST_ISSUES'], toolsForConnectedAccountCreation: [] },
    });

    // A managed-style update on a custom config is refused, not silently applied.
    await expect(composio.authConfigs.update(linearKeys, { type: 'default', scopes: 'read' })).rejects.toMatchObject({ status: 400 });
    expect((await composio.authConfigs.get(linearKeys)).name).toBe('Linear keys (renamed)');
  });

  it('disable hides the config from default lists and refuses initiate; enable restores it', async () => {
    const from = sent.length;
    expect(await composio.authConfigs.disable(linearTeam)).toEqual({});
    expect(sentSince(from).map(describeReq)).toEqual([`PATCH ${V}/auth_configs/${linearTeam}/DISABLED`]);
    expect((await composio.authConfigs.get(linearTeam)).status).toBe('DISABLED');

    expect((await composio.authConfigs.list({ toolkit: 'linear' })).items.map((i) => i.id)).toEqual([linearKeys]);
    const withDisabled = await composio.authConfigs.list({ toolkit: 'linear', showDisabled: true });
    expect(withDisabled.items.map((i) => [i.id, i.status])).toEqual([
      [linearTeam, 'DISABLED'],
      [linearKeys, 'ENABLED'],
    ]);

    const before = sent.length;
    await expect(composio.connectedAccounts.initiate('user-jessica', linearTeam, { config: AuthScheme.APIKey({ api_key: 'lin_api_refused' }) })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/disabled/i),
    });
    // Preflight list, then one POST: a 400 is not retried.
    expect(sentSince(before).map((r) => r.method)).toEqual(['GET', 'POST']);
    const none = await raw.get(`/connected_accounts?auth_config_ids=${linearTeam}`);
    expect((none.body as RawList).items).toEqual([]);

    expect(await composio.authConfigs.enable(linearTeam)).toEqual({});
    expect((await composio.authConfigs.get(linearTeam)).status).toBe('ENABLED');
    expect((await composio.authConfigs.list({ toolkit: 'linear' })).items.map((i) => i.id)).toEqual([linearTeam, linearKeys]);
  });
});

describe('toolkits through the SDK', () => {
  it('get("linear") and get("LINEAR") return the same toolkit', async () => {
    const tk = await composio.toolkits.get('linear');
    expect(tk).toMatchObject({
      name: 'Linear',
      slug: 'linear',
      isLocalToolkit: false,
      meta: {
        logo: 'https://linear.app/favicon.ico',
        description: expect.stringMatching(/Linear/),
        categories: [
          { slug: 'project-management', name: 'Project Management' },
          { slug: 'developer-tools', name: 'Developer Tools' },
        ],
      },
    });
    expect(tk.authConfigDetails?.map((d) => d.mode)).toEqual(['OAUTH2', 'API_KEY']);
    const rawTk = await raw.get('/toolkits/linear');
    expect(tk.composioManagedAuthSchemes).toEqual((rawTk.body as { composio_managed_auth_schemes: string[] }).composio_managed_auth_schemes);

    const from = sent.length;
    const upper = await composio.toolkits.get('LINEAR');
    expect(sentSince(from).map(describeReq)).toEqual([`GET ${V}/toolkits/LINEAR`]);
    expect(upper).toEqual(tk);

    await expect(composio.toolkits.get('no-such-toolkit')).rejects.toBeInstanceOf(ComposioToolkitNotFoundError);
  });

  it('auth-config creation fields and connected-account initiation fields', async () => {
    expect(await composio.toolkits.getAuthConfigCreationFields('linear', 'API_KEY')).toEqual([]);

    const oauth = await composio.toolkits.getAuthConfigCreationFields('linear', 'OAUTH2');
    expect(oauth.map((f) => [f.name, f.required])).toEqual([
      ['client_id', true],
      ['client_secret', true],
      ['scopes', false],
      ['oauth_redirect_uri', false],
    ]);
    expect(oauth.find((f) => f.name === 'client_secret')).toMatchObject({ isSecret: true, displayName: 'Client Secret', type: 'string' });

    const init = await composio.toolkits.getConnectedAccountInitiationFields('linear', 'API_KEY');
    expect(init).toEqual([
      {
        name: 'api_key',
        displayName: 'API Key',
        type: 'string',
        description: expect.stringMatching(/API key/i),
        required: true,
        isSecret: true,
      },
    ]);
    expect(await composio.toolkits.getConnectedAccountInitiationFields('linear', 'API_KEY', { requiredOnly: true })).toEqual(init);
    expect(await composio.toolkits.getConnectedAccountInitiationFields('linear', 'OAUTH2')).toEqual([]);
  });

  it('an entry without logo, app URL or docs, its category list and a filtered list, all without a warning', async () => {
    // `_21risk`: a Composio slug that starts with `_`; listed even where its facts are left out.
    const tk = await composio.toolkits.get('_21risk');
    expect(tk).toMatchObject({ slug: '_21risk', meta: { categories: expect.arrayContaining([{ slug: 'compliance', name: 'Compliance' }]) } });
    expect(typeof tk.meta.logo).toBe('string');
    const categories = await composio.toolkits.listCategories();
    expect(categories.items).toContainEqual({ id: 'crm', name: 'CRM' });
    const crm = await composio.toolkits.get({ category: 'crm', limit: 200 });
    expect(crm.map((t) => t.slug)).toEqual(expect.arrayContaining(['hubspot', 'salesforce']));
  });
});

describe('connected accounts through the SDK', () => {
  it('initiate for two users on one auth config: the preflight list filters by user', async () => {
    const from = sent.length;
    const jessica = await composio.connectedAccounts.initiate('user-jessica', linearKeys, { config: AuthScheme.APIKey({ api_key: 'lin_api_jessica' }) });
    expect(jessica).toMatchObject({ id: expect.stringMatching(CA_ID), status: 'ACTIVE', redirectUrl: null });
    acc.jessica = jessica.id;

    const [preflight, post, ...rest] = sentSince(from);
    expect(rest).toEqual([]);
    expect(preflight?.method).toBe('GET');
    expect(preflight?.url.pathname).toBe(`${V}/connected_accounts`);
    expect(Object.fromEntries(preflight?.url.searchParams ?? [])).toEqual({ auth_config_ids: linearKeys, statuses: 'ACTIVE', user_ids: 'user-jessica' });
    expect(post && describeReq(post)).toBe(`POST ${V}/connected_accounts`);
    expect(post?.body).toEqual({
      auth_config: { id: linearKeys },
      connection: { user_id: 'user-jessica', state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_jessica' } } },
    });

    const melissa = await composio.connectedAccounts.initiate('user-melissa', linearKeys, { config: AuthScheme.APIKey({ api_key: 'lin_api_melissa' }) });
    expect(melissa).toMatchObject({ id: expect.stringMatching(CA_ID), status: 'ACTIVE', redirectUrl: null });
    expect(melissa.id).not.toBe(jessica.id);
    acc.melissa = melissa.id;

    // Ownership is only visible on the raw API (the SDK strips user_id).
    expect((await rawAccount(acc.jessica)).user_id).toBe('user-jessica');
    expect((await rawAccount(acc.melissa)).user_id).toBe('user-melissa');
  });

  it('a second initiate for the same user needs allowMultiple', async () => {
    const from = sent.length;
    await expect(
      composio.connectedAccounts.initiate('user-jessica', linearKeys, { config: AuthScheme.APIKey({ api_key: 'lin_api_jessica_2' }) }),
    ).rejects.toBeInstanceOf(ComposioMultipleConnectedAccountsError);
    expect(sentSince(from).map((r) => r.method)).toEqual(['GET']); // no POST
    const jess = await raw.get(`/connected_accounts?user_ids=user-jessica&auth_config_ids=${linearKeys}`);
    expect((jess.body as RawList).items.map((i) => i.id)).toEqual([acc.jessica]);

    const second = await composio.connectedAccounts.initiate('user-jessica', linearKeys, {
      config: AuthScheme.APIKey({ api_key: 'lin_api_jessica_2' }),
      allowMultiple: true,
    });
    expect(second).toMatchObject({ id: expect.stringMatching(CA_ID), status: 'ACTIVE', redirectUrl: null });
    expect([acc.jessica, acc.melissa]).not.toContain(second.id);
    acc.jessica2 = second.id;
    // The SDK's own notice for allowMultiple; nothing else may be logged.
    expect(takeLogs(/\[Warn:AllowMultiple\]/)).toHaveLength(1);

    // More accounts for the list filters: another linear config, another toolkit.
    acc.jessicaTeam = (await composio.connectedAccounts.initiate('user-jessica', linearTeam, { config: AuthScheme.APIKey({ api_key: 'lin_api_team' }) })).id;
    acc.melissaOpenai = (await composio.connectedAccounts.initiate('user-melissa', openaiKeys, { config: AuthScheme.APIKey({ api_key: 'sk-melissa' }) })).id;
    expect(new Set(Object.values(acc)).size).toBe(5);

    expect((await composio.authConfigs.get(linearKeys)).noOfConnections).toBe(3);
    expect((await composio.authConfigs.get(linearTeam)).noOfConnections).toBe(1);
  });

  it('waitForConnection resolves ACTIVE at once', async () => {
    const request = await composio.connectedAccounts.initiate('user-waiter', linearKeys, { config: AuthScheme.APIKey({ api_key: 'lin_api_waiter' }) });
    const from = sent.length;
    const account = await request.waitForConnection(10_000);
    expect(sentSince(from).map(describeReq)).toEqual([`GET ${V}/connected_accounts/${request.id}`]);
    expect(account).toMatchObject({
      id: request.id,
      status: 'ACTIVE',
      statusReason: null,
      isDisabled: false,
      toolkit: { slug: 'linear' },
      authConfig: { id: linearKeys, authScheme: 'API_KEY', isComposioManaged: false, isDisabled: false },
      state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_waiter' } },
    });
    expect(account).not.toHaveProperty('user_id'); // the SDK's schema accepted it (and stripped extras)

    const again = await composio.connectedAccounts.waitForConnection(request.id, 10_000);
    expect(again.id).toBe(request.id);
    expect(again.status).toBe('ACTIVE');

    // Keep the five accounts of the list tests on their own: remove this one.
    expect(await composio.connectedAccounts.delete(request.id)).toEqual({ success: true });
  });

  it('get returns the full account, matching the raw API', async () => {
    const a = await composio.connectedAccounts.get(acc.jessica);
    const r = await rawAccount(acc.jessica);
    expect(a).toEqual({
      id: acc.jessica,
      authConfig: { id: linearKeys, authScheme: 'API_KEY', isComposioManaged: false, isDisabled: false },
      wordId: expect.stringMatching(/^linear_/),
      alias: null,
      data: r.state.val,
      params: {},
      status: 'ACTIVE',
      statusReason: null,
      toolkit: { slug: 'linear' },
      state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_jessica' } },
      isDisabled: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      experimental: { accountType: 'PRIVATE' },
    });
    expect(a.state).toEqual(r.state);
    expect(Number.isNaN(Date.parse(a.createdAt))).toBe(false);

    await expect(composio.connectedAccounts.get('ca_doesnotexist1')).rejects.toMatchObject({ status: 404 });
  });

  it('list filters by user, toolkit, auth config and status (comma-joined arrays)', async () => {
    const ids = async (q?: ConnectedAccountListParams) => (await composio.connectedAccounts.list(q)).items.map((i) => i.id);
    const sorted = (xs: string[]) => [...xs].sort();
    // Newest first by default.
    const all = [acc.melissaOpenai, acc.jessicaTeam, acc.jessica2, acc.melissa, acc.jessica];

    expect(await ids()).toEqual(all);
    expect(await ids({ userIds: ['user-jessica'] })).toEqual([acc.jessicaTeam, acc.jessica2, acc.jessica]);
    expect(await ids({ userIds: ['user-melissa'] })).toEqual([acc.melissaOpenai, acc.melissa]);

    const from = sent.length;
    expect(sorted(await ids({ userIds: ['user-jessica', 'user-melissa'] }))).toEqual(sorted(all));
    expect(sentSince(from)[0]?.url.search).toBe('?user_ids=user-jessica%2Cuser-melissa');

    expect(await ids({ userIds: ['user-nobody'] })).toEqual([]);
    expect(await ids({ toolkitSlugs: ['openai'] })).toEqual([acc.melissaOpenai]);
    expect(await ids({ toolkitSlugs: ['linear'] })).toEqual([acc.jessicaTeam, acc.jessica2, acc.melissa, acc.jessica]);
    expect(await ids({ toolkitSlugs: ['linear', 'openai'] })).toEqual(all);
    expect(await ids({ authConfigIds: [linearTeam] })).toEqual([acc.jessicaTeam]);
    expect(await ids({ authConfigIds: [linearTeam, openaiKeys] })).toEqual([acc.melissaOpenai, acc.jessicaTeam]);
    expect(await ids({ userIds: ['user-jessica'], authConfigIds: [linearKeys] })).toEqual([acc.jessica2, acc.jessica]);
    expect(await ids({ userIds: ['user-melissa'], toolkitSlugs: ['linear'], authConfigIds: [linearKeys], statuses: ['ACTIVE'] })).toEqual([acc.melissa]);
    expect(await ids({ statuses: ['ACTIVE'] })).toEqual(all);
    expect(await ids({ statuses: ['INACTIVE', 'FAILED'] })).toEqual([]);

    // accountType (experimental) is sent as account_type.
    expect(await ids({ accountType: 'ALL' })).toEqual(all);
    expect(await ids({ accountType: 'SHARED' })).toEqual([]);
  });

  it('list pages with limit + cursor, in created_at and updated_at order', async () => {
    const all = [acc.melissaOpenai, acc.jessicaTeam, acc.jessica2, acc.melissa, acc.jessica];
    const seen: string[] = [];
    let cursor: string | undefined;
    const pages: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await composio.connectedAccounts.list({ limit: 2, cursor, orderBy: 'created_at' });
      expect(page.totalPages).toBe(3);
      pages.push(page.items.length);
      seen.push(...page.items.map((a) => a.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual(all);

    // Filters still apply while paging.
    const p1 = await composio.connectedAccounts.list({ userIds: ['user-jessica'], limit: 2 });
    expect(p1.items.map((a) => a.id)).toEqual([acc.jessicaTeam, acc.jessica2]);
    expect(p1.totalPages).toBe(2);
    const p2 = await composio.connectedAccounts.list({ userIds: ['user-jessica'], limit: 2, cursor: p1.nextCursor ?? undefined });
    expect(p2.items.map((a) => a.id)).toEqual([acc.jessica]);
    expect(p2.nextCursor).toBeNull();

    // Touch the oldest account: it comes first by updated_at, last by created_at.
    expect(await composio.connectedAccounts.disable(acc.jessica)).toEqual({ success: true });
    expect(await composio.connectedAccounts.enable(acc.jessica)).toEqual({ success: true });
    const byUpdated = await composio.connectedAccounts.list({ orderBy: 'updated_at' });
    expect(byUpdated.items.map((a) => a.id)).toEqual([acc.jessica, acc.melissaOpenai, acc.jessicaTeam, acc.jessica2, acc.melissa]);
    const u1 = await composio.connectedAccounts.list({ orderBy: 'updated_at', limit: 3 });
    const u2 = await composio.connectedAccounts.list({ orderBy: 'updated_at', limit: 3, cursor: u1.nextCursor ?? undefined });
    expect([...u1.items, ...u2.items].map((a) => a.id)).toEqual(byUpdated.items.map((a) => a.id));
    expect(u2.nextCursor).toBeNull();
    expect((await composio.connectedAccounts.list({ orderBy: 'created_at' })).items.map((a) => a.id)).toEqual(all);
  });

  it('disable makes the account INACTIVE; enable makes it ACTIVE again', async () => {
    const from = sent.length;
    expect(await composio.connectedAccounts.disable(acc.melissa)).toEqual({ success: true });
    const [patch] = sentSince(from);
    expect(patch && describeReq(patch)).toBe(`PATCH ${V}/connected_accounts/${acc.melissa}/status`);
    expect(patch?.body).toEqual({ enabled: false });

    const off = await composio.connectedAccounts.get(acc.melissa);
    expect(off).toMatchObject({ id: acc.melissa, status: 'INACTIVE', isDisabled: true, statusReason: DISABLED_BY_USER });
    expect(off.state).toEqual({ authScheme: 'API_KEY', val: { status: 'INACTIVE', api_key: 'lin_api_melissa' } });

    // The status filter sees it; the SDK's preflight (statuses=ACTIVE) no longer does.
    expect((await composio.connectedAccounts.list({ statuses: ['INACTIVE'] })).items.map((a) => a.id)).toEqual([acc.melissa]);
    expect((await composio.connectedAccounts.list({ statuses: ['ACTIVE'], userIds: ['user-melissa'] })).items.map((a) => a.id)).toEqual([acc.melissaOpenai]);

    // INACTIVE is not terminal for waitForConnection: it keeps polling until the timeout.
    await expect(composio.connectedAccounts.waitForConnection(acc.melissa, 1_000)).rejects.toBeInstanceOf(ConnectionRequestTimeoutError);

    expect(await composio.connectedAccounts.enable(acc.melissa)).toEqual({ success: true });
    const on = await composio.connectedAccounts.get(acc.melissa);
    expect(on).toMatchObject({ id: acc.melissa, status: 'ACTIVE', isDisabled: false, statusReason: null });
    expect(on.state).toEqual({ authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_melissa' } });
    expect((await composio.connectedAccounts.list({ statuses: ['INACTIVE'] })).items).toEqual([]);
  });

  it("an account's authConfig.isDisabled follows its auth config", async () => {
    await composio.authConfigs.disable(linearTeam);
    const a = await composio.connectedAccounts.get(acc.jessicaTeam);
    expect(a.authConfig).toEqual({ id: linearTeam, authScheme: 'API_KEY', isComposioManaged: false, isDisabled: true });
    const listed = (await composio.connectedAccounts.list({ authConfigIds: [linearTeam] })).items;
    expect(listed.map((i) => [i.id, i.authConfig.isDisabled])).toEqual([[acc.jessicaTeam, true]]);
    await composio.authConfigs.enable(linearTeam);
    expect((await composio.connectedAccounts.get(acc.jessicaTeam)).authConfig.isDisabled).toBe(false);
  });

  it('refresh on an API-key account leaves it ACTIVE', async () => {
    const from = sent.length;
    const res = await composio.connectedAccounts.refresh(acc.jessica);
    expect(sentSince(from).map(describeReq)).toEqual([`POST ${V}/connected_accounts/${acc.jessica}/refresh`]);
    expect(res).toMatchObject({ id: acc.jessica, status: 'ACTIVE' });
    const after = await composio.connectedAccounts.get(acc.jessica);
    expect(after).toMatchObject({ status: 'ACTIVE', isDisabled: false, statusReason: null });
    expect(after.state).toEqual({ authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_jessica' } });
  });

  it('delete: the account is gone from get, waitForConnection and list', async () => {
    const from = sent.length;
    expect(await composio.connectedAccounts.delete(acc.jessica2)).toEqual({ success: true });
    expect(sentSince(from).map(describeReq)).toEqual([`DELETE ${V}/connected_accounts/${acc.jessica2}`]);

    await expect(composio.connectedAccounts.get(acc.jessica2)).rejects.toMatchObject({ status: 404 });
    await expect(composio.connectedAccounts.waitForConnection(acc.jessica2, 2_000)).rejects.toBeInstanceOf(ComposioConnectedAccountNotFoundError);
    expect((await raw.get(`/connected_accounts/${acc.jessica2}`)).status).toBe(404);
    await expect(composio.connectedAccounts.delete(acc.jessica2)).rejects.toMatchObject({ status: 404 });

    expect((await composio.connectedAccounts.list({ userIds: ['user-jessica'] })).items.map((a) => a.id)).toEqual([acc.jessicaTeam, acc.jessica]);
    expect((await composio.authConfigs.get(linearKeys)).noOfConnections).toBe(2);

    // The user's remaining account still blocks a plain initiate; melissa's is untouched.
    await expect(composio.connectedAccounts.initiate('user-jessica', linearKeys, { config: AuthScheme.APIKey({ api_key: 'x' }) })).rejects.toBeInstanceOf(
      ComposioMultipleConnectedAccountsError,
    );
    expect((await composio.connectedAccounts.get(acc.melissa)).status).toBe('ACTIVE');
  });

  it("another project's key sees none of it", async () => {
    const other = await ctx.newProject();
    const theirs = new Composio({ apiKey: other.apiKey, baseURL, allowTracking: false, disableVersionCheck: true });
    expect((await theirs.connectedAccounts.list()).items).toEqual([]);
    expect((await theirs.authConfigs.list({ showDisabled: true })).items).toEqual([]);
    await expect(theirs.connectedAccounts.get(acc.jessica)).rejects.toMatchObject({ status: 404 });
    await expect(theirs.authConfigs.get(linearKeys)).rejects.toMatchObject({ status: 404 });
    await expect(theirs.connectedAccounts.initiate('user-jessica', linearKeys, { config: AuthScheme.APIKey({ api_key: 'x' }) })).rejects.toMatchObject({ status: 404 });
    await expect(theirs.connectedAccounts.disable(acc.jessica)).rejects.toMatchObject({ status: 404 });
    expect((await composio.connectedAccounts.get(acc.jessica)).status).toBe('ACTIVE');
  });
});

describe('shared connections (the experimental ACL) through the SDK', () => {
  let shared = '';
  const authParamsFor = (id: string, userId: string) => raw.get(`/connected_accounts/${id}/auth_params?user_id=${encodeURIComponent(userId)}`);
  const listedFor = async (userId: string, accountType?: 'ALL' | 'SHARED') =>
    (await composio.connectedAccounts.list({ userIds: [userId], authConfigIds: [linearTeam], ...(accountType ? { accountType } : {}) })).items.map((i) => i.id);

  it('a SHARED account is its owner\'s alone until its ACL grants others (deny by default)', async () => {
    const created = await raw.post('/connected_accounts', {
      auth_config: { id: linearTeam },
      connection: { user_id: 'team-owner', state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_shared' } }, experimental: { account_type: 'SHARED' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    shared = created.body.id as string;

    const a = await composio.connectedAccounts.get(shared);
    expect(a.experimental).toEqual({ accountType: 'SHARED', aclConfigForShared: { allowAllUsers: false, allowedUserIds: [], notAllowedUserIds: [] } });
    expect((await authParamsFor(shared, 'team-owner')).status).toBe(200);
    const denied = await authParamsFor(shared, 'user-bob');
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ slug: 'ConnectedAccount_SharedAccessDenied', status: 403 });
    expect(await listedFor('user-bob', 'ALL')).toEqual([]);
    expect(await listedFor('team-owner', 'SHARED')).toEqual([shared]);
  });

  it('updateAcl stores the ACL: the user it allows lists and uses the account, which keeps its owner', async () => {
    const from = sent.length;
    expect(await composio.connectedAccounts.updateAcl(shared, { allowedUserIds: ['user-bob'] })).toMatchObject({ success: true, id: shared });
    const [patch] = sentSince(from);
    expect(patch && describeReq(patch)).toBe(`PATCH ${V}/connected_accounts/${shared}`);
    expect(patch?.body).toEqual({ experimental: { acl_config_for_shared: { allowed_user_ids: ['user-bob'] } } });

    expect((await composio.connectedAccounts.get(shared)).experimental?.aclConfigForShared).toEqual({ allowAllUsers: false, allowedUserIds: ['user-bob'], notAllowedUserIds: [] });
    expect((await authParamsFor(shared, 'user-bob')).status).toBe(200);
    expect((await authParamsFor(shared, 'user-carol')).status).toBe(403);

    // Shared with bob: listed for him with account_type SHARED or ALL, never in the default (PRIVATE) list,
    // so it does not block his own initiate(). user_id stays the owner's.
    expect(await listedFor('user-bob', 'ALL')).toEqual([shared]);
    expect(await listedFor('user-bob', 'SHARED')).toEqual([shared]);
    expect(await listedFor('user-bob')).toEqual([]);
    expect(await listedFor('user-carol', 'ALL')).toEqual([]);
    const listed = await raw.get(`/connected_accounts?user_ids=user-bob&account_type=ALL&auth_config_ids=${linearTeam}`).expect(200);
    expect(listed.body.items.map((i: RawAccount & { experimental: unknown }) => [i.user_id, i.experimental])).toEqual([
      ['team-owner', { account_type: 'SHARED', acl_config_for_shared: { allow_all_users: false, allowed_user_ids: ['user-bob'], not_allowed_user_ids: [] } }],
    ]);
    expect(listed.body.total_items).toBe(1);
  });

  it('PATCH semantics: an omitted field is kept; deny wins over allow-all; the owner is never denied', async () => {
    await composio.connectedAccounts.updateAcl(shared, { allowAllUsers: true, notAllowedUserIds: ['user-carol', 'team-owner'] });
    expect((await composio.connectedAccounts.get(shared)).experimental?.aclConfigForShared).toEqual({
      allowAllUsers: true,
      allowedUserIds: ['user-bob'],
      notAllowedUserIds: ['user-carol', 'team-owner'],
    });
    expect((await authParamsFor(shared, 'user-dave')).status).toBe(200);
    expect((await authParamsFor(shared, 'user-carol')).status).toBe(403);
    expect((await authParamsFor(shared, 'team-owner')).status).toBe(200);
    expect(await listedFor('user-dave', 'ALL')).toEqual([shared]);
    expect(await listedFor('user-carol', 'ALL')).toEqual([]);

    await composio.experimental.updateAcl(shared, { allowAllUsers: false, allowedUserIds: [] });
    expect((await authParamsFor(shared, 'user-bob')).status).toBe(403);
    expect(await listedFor('user-bob', 'ALL')).toEqual([]);
  });

  it('an ACL on a PRIVATE account is refused as the SDK expects, and nothing is stored', async () => {
    await expect(composio.connectedAccounts.updateAcl(acc.jessica, { allowAllUsers: true })).rejects.toBeInstanceOf(ComposioAclOnlyForSharedError);
    expect((await rawAccount(acc.jessica)) as unknown).toMatchObject({ experimental: { account_type: 'PRIVATE' } });
    expect((await authParamsFor(acc.jessica, 'user-bob')).status).toBe(403);
    expect((await authParamsFor(acc.jessica, 'user-jessica')).status).toBe(200);
  });

  it('link() sets the type and the ACL; an ACL for a PRIVATE link is refused', async () => {
    const from = sent.length;
    const request = await composio.connectedAccounts.link('link-owner', linearTeam, {
      experimental: { accountType: 'SHARED', aclConfigForShared: { allowedUserIds: ['user-erin'] } },
    });
    const post = sentSince(from).find((r) => r.method === 'POST');
    expect(post?.body).toEqual({
      auth_config_id: linearTeam,
      user_id: 'link-owner',
      experimental: { account_type: 'SHARED', acl_config_for_shared: { allowed_user_ids: ['user-erin'] } },
    });
    expect((await composio.connectedAccounts.get(request.id)).experimental).toEqual({
      accountType: 'SHARED',
      aclConfigForShared: { allowAllUsers: false, allowedUserIds: ['user-erin'], notAllowedUserIds: [] },
    });
    await expect(
      composio.connectedAccounts.link('link-owner-2', linearTeam, { experimental: { accountType: 'PRIVATE', aclConfigForShared: { allowAllUsers: true } } }),
    ).rejects.toBeInstanceOf(ComposioAclOnlyForSharedError);
  });
});

describe('webhooks and authorize through the SDK', () => {
  it('setWebhookSubscription() with its defaults (trigger events) succeeds; unknown events are still refused', async () => {
    const from = sent.length;
    const sub = await composio.triggers.setWebhookSubscription({ webhookUrl: 'https://hooks.example.com/composio' });
    const post = sentSince(from).find((r) => r.method === 'POST');
    expect(post && describeReq(post)).toBe(`POST ${V}/webhook_subscriptions`);
    expect((post?.body as { enabled_events: string[] }).enabled_events).toContain('composio.trigger.message');
    expect(sub).toMatchObject({ id: expect.any(String), webhookUrl: 'https://hooks.example.com/composio', version: 'V3' });
    expect(sub.enabledEvents).toContain('composio.trigger.message');
    // Both of Composio's trigger events are accepted (they never fire in Latchkey), and listed.
    await composio.triggers.setWebhookSubscription({ webhookUrl: 'https://hooks.example.com/composio', enabledEvents: ['composio.trigger.message', 'composio.trigger.disabled'] });
    const types = (await raw.get('/webhook_subscriptions/event_types')).body as { items: { event_type: string }[] };
    expect(types.items.map((i) => i.event_type)).toEqual(expect.arrayContaining(['composio.trigger.message', 'composio.trigger.disabled']));
    await expect(composio.triggers.setWebhookSubscription({ webhookUrl: 'https://hooks.example.com/composio', enabledEvents: ['composio.trigger.nope'] })).rejects.toMatchObject({ status: 400 });
  });

  it('authorize() without managed credentials fails before creating anything, saying how to configure them', async () => {
    const before = (await raw.get('/auth_configs?toolkit_slug=github&show_disabled=true')).body as { items: unknown[] };
    expect(before.items).toEqual([]);
    const err = await composio.toolkits.authorize('user-authorize', 'github').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComposioAuthConfigNotFoundError);
    expect(String((err as { cause?: { message?: string } }).cause?.message)).toMatch(/LATCHKEY_MANAGED_GITHUB_CLIENT_ID and LATCHKEY_MANAGED_GITHUB_CLIENT_SECRET/);
    expect(((await raw.get('/auth_configs?toolkit_slug=github&show_disabled=true')).body as { items: unknown[] }).items).toEqual([]);
    expect((await raw.get('/connected_accounts?user_ids=user-authorize')).body).toMatchObject({ items: [] });
  });

  describe('a delivered event parses with the SDK\'s own event schema', () => {
    let provider: MockProvider;
    let env: OAuthEnv;
    let receiver: Receiver;
    beforeAll(async () => {
      provider = await startProvider();
      env = await startOAuthEnv(provider, { WEBHOOKS_ALLOW_PRIVATE_URLS: true, WEBHOOK_TIMEOUT_MS: 2000 });
      receiver = await startReceiver();
      otherOrigins.push(env.baseUrl, new URL(provider.issuer).origin);
    });
    afterAll(async () => {
      await receiver?.close();
      await env?.ctx.close();
      await provider?.stop();
    });

    it('composio.connected_account.expired, with metadata.org_id', async () => {
      const sdk = new Composio({ apiKey: env.ctx.apiKey, baseURL: env.baseUrl, allowTracking: false, disableVersionCheck: true });
      await sdk.triggers.setWebhookSubscription({ webhookUrl: receiver.url, enabledEvents: ['composio.connected_account.expired'] });
      const { id } = await connect(env);
      await expireToken(env, id);
      provider.nextToken(fail.invalidGrant());
      expect((await getAccount(env, id)).status).toBe('EXPIRED');

      for (let i = 0; i < 10 && receiver.received.length === 0; i++) await env.ctx.app.services.webhookDelivery.runOnce();
      expect(receiver.received).toHaveLength(1);
      const event = WebhookEventSchema.parse(JSON.parse(receiver.received[0]!.body));
      expect(event.type).toBe('composio.connected_account.expired');
      expect(event.metadata).toEqual({ project_id: env.ctx.projectId, org_id: 'org_latchkey' });
      expect(event.data).toMatchObject({ id, status: 'EXPIRED' });
    });
  });
});

describe('the SDK talks to nothing but the loopback server', () => {
  it('every request went to the base URL, under /api/v3.1, with the API key', () => {
    expect(sent.length).toBeGreaterThan(50);
    // (The event test runs its own Latchkey and authorization server, on loopback too.)
    const elsewhere = sent.filter((r) => !otherOrigins.includes(r.url.origin) && (r.url.origin !== baseURL || !r.url.pathname.startsWith(`${V}/`)));
    expect(elsewhere.map(describeReq)).toEqual([]);
    // Every API call carried a key (the browser's visits to the provider and the callback are not API calls).
    expect(sent.filter((r) => r.url.pathname.startsWith(`${V}/`) && !r.apiKey?.startsWith('ak_')).map(describeReq)).toEqual([]);
  });
});
