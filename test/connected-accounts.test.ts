/**
 * The connected-account routes over HTTP: create, get, list (filters, ordering, keyset paging),
 * update, enable/disable through the state machine, delete, refresh, revoke, auth params, masking,
 * tenancy and hostile input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrypto } from '../src/lib/crypto.js';
import { accountStore } from '../src/modules/connected-accounts/account-store.js';
import { connectedAccountsRepository } from '../src/modules/connected-accounts/connected-accounts.repository.js';
import { connectedAccountsService } from '../src/modules/connected-accounts/connected-accounts.service.js';
import { mintedTokens } from '../src/modules/connected-accounts/minted-tokens.js';
import { loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { TEST_SECRETS, type TestContext, createTestContext } from './support/context.js';
import { type Res, expectEnvelope } from './support/expect.js';

let ctx: TestContext;
beforeAll(async () => {
  // No API-key cache: masking changes must be visible on the next request.
  ctx = await createTestContext({ config: { API_KEY_CACHE_MS: 0 } });
});
afterAll(() => ctx.close());

const V = '/api/v3.1';
const MASK = '********';
const catalogue = loadCatalogue();

type Status = 'INITIALIZING' | 'INITIATED' | 'ACTIVE' | 'FAILED' | 'EXPIRED' | 'INACTIVE' | 'REVOKED';
type Account = {
  id: string;
  toolkit: { slug: string };
  auth_config: { id: string; auth_scheme: string; is_composio_managed: boolean; is_disabled: boolean };
  user_id: string;
  status: Status;
  status_reason: string | null;
  is_disabled: boolean;
  created_at: string;
  updated_at: string;
  state: { authScheme: string; val: Record<string, unknown> };
  data: Record<string, unknown>;
  params?: Record<string, unknown>;
  word_id: string | null;
  alias: string | null;
};
type List = { items: Account[]; next_cursor: string | null; total_pages: number; current_page: number; total_items: number };
type Created = { id: string; connectionData: { authScheme: string; val: Record<string, unknown> }; status: Status; redirect_url: string | null; redirect_uri: string | null };

const get = (path: string, apiKey = ctx.apiKey) => ctx.http.get(`${V}${path}`).set('x-api-key', apiKey);
const post = (path: string, body?: unknown, apiKey = ctx.apiKey) => {
  const r = ctx.http.post(`${V}${path}`).set('x-api-key', apiKey);
  return body === undefined ? r : r.send(body as object);
};
const patch = (path: string, body: unknown, apiKey = ctx.apiKey) => ctx.http.patch(`${V}${path}`).set('x-api-key', apiKey).send(body as object);
const del = (path: string, apiKey = ctx.apiKey) => ctx.http.delete(`${V}${path}`).set('x-api-key', apiKey);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createConfig(toolkit: string, authScheme: string, apiKey = ctx.apiKey): Promise<string> {
  const res = await post('/auth_configs', { toolkit: { slug: toolkit }, auth_config: { type: 'use_custom_auth', authScheme } }, apiKey);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { auth_config: { id: string } }).auth_config.id;
}

type Opts = { userId?: string; alias?: string; apiKey?: string; scheme?: string };
function create(cfg: string, val: Record<string, unknown>, o: Opts = {}) {
  return post(
    '/connected_accounts',
    {
      auth_config: { id: cfg },
      connection: {
        ...(o.userId !== undefined ? { user_id: o.userId } : {}),
        ...(o.alias !== undefined ? { alias: o.alias } : {}),
        state: { authScheme: o.scheme ?? 'API_KEY', val: { status: 'ACTIVE', ...val } },
      },
    },
    o.apiKey ?? ctx.apiKey,
  );
}
async function createOk(cfg: string, val: Record<string, unknown>, o: Opts = {}): Promise<string> {
  const res = await create(cfg, val, o);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as Created).id;
}
async function getAccount(id: string, apiKey = ctx.apiKey): Promise<Account> {
  const res = await get(`/connected_accounts/${id}`, apiKey);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Account;
}
async function list(q: string, apiKey = ctx.apiKey): Promise<List> {
  const res = await get(`/connected_accounts${q ? `?${q}` : ''}`, apiKey);
  expect(res.status, `${q}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body as List;
}

/** The keys every connected account carries (contract §2); `params` on GET by id only. */
const REQUIRED_KEYS = ['id', 'toolkit', 'auth_config', 'user_id', 'status', 'status_reason', 'is_disabled', 'created_at', 'updated_at', 'state', 'data', 'word_id', 'alias'];

function expectAccountShape(a: Account, full: boolean) {
  for (const k of REQUIRED_KEYS) expect(a, `missing ${k}`).toHaveProperty(k);
  if (full) expect(a.params).toEqual({});
  else expect('params' in a, 'list items have no params').toBe(false);
  expect(a.id).toMatch(/^ca_[0-9A-Za-z]+$/);
  expect(Object.keys(a.toolkit)).toEqual(['slug']);
  expect(Object.keys(a.auth_config).sort()).toEqual(['auth_scheme', 'id', 'is_composio_managed', 'is_disabled']);
  expect(typeof a.auth_config.is_composio_managed).toBe('boolean');
  expect(typeof a.auth_config.is_disabled).toBe('boolean');
  expect(typeof a.user_id).toBe('string');
  expect(typeof a.is_disabled).toBe('boolean');
  expect(a.status_reason === null || typeof a.status_reason === 'string').toBe(true);
  expect(new Date(a.created_at).toISOString()).toBe(a.created_at);
  expect(new Date(a.updated_at).toISOString()).toBe(a.updated_at);
  expect(a.state.authScheme).toBe(a.auth_config.auth_scheme);
  expect(a.state.val.status).toBe(a.status);
  expect(a.data).toEqual(a.state.val);
  expect(a.word_id === null || typeof a.word_id === 'string').toBe(true);
  expect(a.alias === null || typeof a.alias === 'string').toBe(true);
}

let linearCfg: string;
let zendeskCfg: string;
let twilioCfg: string;
let stripeCfg: string;
beforeAll(async () => {
  linearCfg = await createConfig('linear', 'API_KEY');
  zendeskCfg = await createConfig('zendesk', 'BASIC');
  twilioCfg = await createConfig('twilio', 'BASIC');
  stripeCfg = await createConfig('stripe', 'API_KEY');
});

describe('POST /connected_accounts', () => {
  it('creates an ACTIVE API_KEY account for linear: 201 in Composio shape', async () => {
    const res = await create(linearCfg, { api_key: 'lin_api_create_1' }, { userId: 'alice' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^ca_[0-9A-Za-z]+$/),
      connectionData: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_create_1' } },
      status: 'ACTIVE',
      redirect_url: null,
      redirect_uri: null,
    });
    const a = await getAccount((res.body as Created).id);
    expect(a).toMatchObject({ user_id: 'alice', status: 'ACTIVE', toolkit: { slug: 'linear' }, state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_create_1' } } });
  });

  it('defaults user_id to "default" and gives a word_id like linear_<word>-<word>', async () => {
    const a = await getAccount(await createOk(linearCfg, { api_key: 'lin_api_default' }));
    expect(a.user_id).toBe('default');
    expect(a.word_id).toMatch(/^linear_[a-z]+-[a-z]+$/);
    expect(a.alias).toBeNull();
    expect(a.status_reason).toBeNull();
  });

  it('accepts the deprecated connection.data instead of state', async () => {
    const res = await post('/connected_accounts', { auth_config: { id: linearCfg }, connection: { user_id: 'legacy', data: { api_key: 'lin_api_legacy' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await getAccount((res.body as Created).id)).state.val.api_key).toBe('lin_api_legacy');
  });

  it('refuses a missing or empty required field with a 400 naming it', async () => {
    for (const val of [{}, { api_key: '' }, { api_key: null }, { other: 'x' }]) {
      const e = expectEnvelope(await create(linearCfg, val), 400, 'ConnectedAccount_InvalidRequest');
      expect(e.message).toContain('api_key');
      expect(e.errors).toEqual(['connection.state.val.api_key: required']);
    }
    const e = expectEnvelope(await create(linearCfg, { api_key: 12345 }), 400, 'ConnectedAccount_InvalidRequest');
    expect(e.message).toContain('api_key');
  });

  it("refuses a scheme different from the auth config's with 400", async () => {
    const e = expectEnvelope(await create(linearCfg, { token: 'x' }, { scheme: 'BEARER_TOKEN' }), 400, 'ConnectedAccount_InvalidRequest');
    expect(e.message).toContain('API_KEY');
    expect(e.message).toContain('BEARER_TOKEN');
    expectEnvelope(await create(linearCfg, { api_key: 'x' }, { scheme: 'NOT_A_SCHEME' }), 400, 'Request_ValidationError');
  });

  it('refuses malformed bodies and unknown auth configs', async () => {
    expectEnvelope(await post('/connected_accounts', { connection: {} }), 400, 'Request_ValidationError');
    expectEnvelope(await post('/connected_accounts', { auth_config: { id: linearCfg } }), 400, 'Request_ValidationError');
    expectEnvelope(await post('/connected_accounts', { auth_config: { id: 'not-an-id' }, connection: {} }), 400, 'Request_ValidationError');
    expectEnvelope(await create('ac_doesNotExist1', { api_key: 'x' }), 404, 'AuthConfig_ResourceNotFound');
    expectEnvelope(await create(linearCfg, { 'bad key!': 'x', api_key: 'k' }), 400, 'Request_ValidationError');
    expectEnvelope(await create(linearCfg, { api_key: 'k' }, { userId: '' }), 400, 'Request_ValidationError');
    expectEnvelope(await create(linearCfg, { api_key: 'k' }, { userId: 'a\u0000b' }), 400, 'Request_ValidationError');
    expectEnvelope(await create(linearCfg, { api_key: 'k' }, { userId: 'x'.repeat(257) }), 400, 'Request_ValidationError');
    const badJson = await ctx.http.post(`${V}/connected_accounts`).set('x-api-key', ctx.apiKey).set('content-type', 'application/json').send('{"auth_config":');
    expectEnvelope(badJson, 400, 'Request_MalformedJson');
  });

  it('refuses hostile zendesk subdomains (they go into the base URL)', async () => {
    for (const subdomain of ['evil.com/x', 'a.b', 'evil.com#', 'evil.com?', '-x', 'a b', 'x@evil.com', '../x', 'a'.repeat(64)]) {
      const res = await create(zendeskCfg, { subdomain, username: 'agent@acme.com', password: 'zd-token' }, { scheme: 'BASIC' });
      const e = expectEnvelope(res, 400, 'ConnectedAccount_InvalidRequest');
      expect(e.message, subdomain).toContain('subdomain');
    }
    const ok = await create(zendeskCfg, { subdomain: 'acme-support', username: 'agent@acme.com', password: 'zd-token' }, { scheme: 'BASIC' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  describe('alias', () => {
    it('is unique per project, user and toolkit; 409 with x-should-retry: false', async () => {
      const first = await createOk(linearCfg, { api_key: 'k1' }, { userId: 'alias-user', alias: 'work' });
      for (const alias of ['work', '  work  ']) {
        const dup = await create(linearCfg, { api_key: 'k2' }, { userId: 'alias-user', alias });
        const e = expectEnvelope(dup, 409, 'ConnectedAccount_Conflict');
        expect(dup.headers['x-should-retry']).toBe('false');
        expect(e.message).toContain('work');
      }
      // Another user, another toolkit, another project: all fine.
      await createOk(linearCfg, { api_key: 'k3' }, { userId: 'alias-user-2', alias: 'work' });
      await createOk(stripeCfg, { api_key: 'k4' }, { userId: 'alias-user', alias: 'work' });
      const other = await ctx.newProject();
      const otherCfg = await createConfig('linear', 'API_KEY', other.apiKey);
      await createOk(otherCfg, { api_key: 'k5' }, { userId: 'alias-user', alias: 'work', apiKey: other.apiKey });
      // Other aliases for the same user are fine.
      const second = await createOk(linearCfg, { api_key: 'k6' }, { userId: 'alias-user', alias: 'personal' });
      // PATCH to a taken alias is the same conflict.
      const p = await patch(`/connected_accounts/${second}`, { alias: 'work' });
      expectEnvelope(p, 409, 'ConnectedAccount_Conflict');
      expect(p.headers['x-should-retry']).toBe('false');
      // After DELETE, the alias is free again.
      await del(`/connected_accounts/${first}`).expect(200);
      const again = await createOk(linearCfg, { api_key: 'k7' }, { userId: 'alias-user', alias: 'work' });
      expect((await getAccount(again)).alias).toBe('work');
    });
  });
});

describe('GET /connected_accounts/{id}', () => {
  it('returns every required key of the contract', async () => {
    const id = await createOk(linearCfg, { api_key: 'lin_api_get', generic_id: 'workspace-1' }, { userId: 'getter', alias: 'main' });
    const res = await get(`/connected_accounts/${id}`).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const a = res.body as Account;
    expectAccountShape(a, true);
    expect(a).toMatchObject({
      id,
      toolkit: { slug: 'linear' },
      auth_config: { id: linearCfg, auth_scheme: 'API_KEY', is_composio_managed: false, is_disabled: false },
      user_id: 'getter',
      status: 'ACTIVE',
      status_reason: null,
      is_disabled: false,
      state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_get', generic_id: 'workspace-1' } },
      alias: 'main',
      params: {},
    });
    expect(a.word_id).toMatch(/^linear_[a-z]+-[a-z]+$/);
  });

  it('answers 404 for an unknown id, also under /api/v3', async () => {
    expectEnvelope(await get('/connected_accounts/ca_doesNotExist1'), 404, 'ConnectedAccount_ResourceNotFound');
    const id = await createOk(linearCfg, { api_key: 'v3' });
    const b = await ctx.http.get(`/api/v3/connected_accounts/${id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(b.body).toEqual(await getAccount(id));
  });
});

describe('GET /connected_accounts (filters)', () => {
  let p: { projectId: string; apiKey: string };
  const cfg: Record<string, string> = {};
  const acc: Record<string, string> = {};
  beforeAll(async () => {
    p = await ctx.newProject();
    cfg.linear = await createConfig('linear', 'API_KEY', p.apiKey);
    cfg.linear2 = await createConfig('linear', 'API_KEY', p.apiKey);
    cfg.stripe = await createConfig('stripe', 'API_KEY', p.apiKey);
    cfg.twilio = await createConfig('twilio', 'BASIC', p.apiKey);
    acc.aliceLinear = await createOk(cfg.linear, { api_key: 'a1' }, { userId: 'alice', apiKey: p.apiKey });
    acc.bobLinear = await createOk(cfg.linear2, { api_key: 'b1' }, { userId: 'bob', apiKey: p.apiKey });
    acc.aliceStripe = await createOk(cfg.stripe, { api_key: 'a2' }, { userId: 'alice', apiKey: p.apiKey });
    acc.carolStripe = await createOk(cfg.stripe, { api_key: 'c1' }, { userId: 'carol', apiKey: p.apiKey });
    acc.daveTwilio = await createOk(cfg.twilio, { username: 'AC1', password: 'tw' }, { userId: 'dave', apiKey: p.apiKey, scheme: 'BASIC' });
    acc.deleted = await createOk(cfg.linear, { api_key: 'gone' }, { userId: 'alice', apiKey: p.apiKey });
    await del(`/connected_accounts/${acc.deleted}`, p.apiKey).expect(200);
    await patch(`/connected_accounts/${acc.carolStripe}/status`, { enabled: false }, p.apiKey).expect(200);
  });
  const ids = async (q: string) => (await list(q, p.apiKey)).items.map((i) => i.id).sort();
  const of = (...names: string[]) => names.map((n) => acc[n]!).sort();

  it('answers in the envelope with list items (no params)', async () => {
    const l = await list('', p.apiKey);
    expect(Object.keys(l).sort()).toEqual(['current_page', 'items', 'next_cursor', 'total_items', 'total_pages']);
    expect(l).toMatchObject({ total_items: 5, total_pages: 1, current_page: 1, next_cursor: null });
    expect(l.items.map((i) => i.id).sort()).toEqual(of('aliceLinear', 'bobLinear', 'aliceStripe', 'carolStripe', 'daveTwilio'));
    for (const a of l.items) expectAccountShape(a, false);
  });

  const cases: [string, (a: (n: string) => string) => string[], string[]][] = [
    ['user_ids', () => ['alice'], ['aliceLinear', 'aliceStripe']],
    ['user_ids', () => ['alice', 'bob'], ['aliceLinear', 'aliceStripe', 'bobLinear']],
    ['toolkit_slugs', () => ['linear'], ['aliceLinear', 'bobLinear']],
    ['toolkit_slugs', () => ['linear', 'twilio'], ['aliceLinear', 'bobLinear', 'daveTwilio']],
    ['toolkit_slugs', () => ['STRIPE'], ['aliceStripe', 'carolStripe']],
    ['auth_config_ids', (c) => [c('linear')], ['aliceLinear']],
    ['auth_config_ids', (c) => [c('linear'), c('stripe')], ['aliceLinear', 'aliceStripe', 'carolStripe']],
    ['connected_account_ids', (_c) => [acc.bobLinear!], ['bobLinear']],
    ['connected_account_ids', (_c) => [acc.bobLinear!, acc.daveTwilio!, acc.deleted!], ['bobLinear', 'daveTwilio']],
    ['statuses', () => ['INACTIVE'], ['carolStripe']],
    ['statuses', () => ['ACTIVE'], ['aliceLinear', 'bobLinear', 'aliceStripe', 'daveTwilio']],
    ['statuses', () => ['ACTIVE', 'INACTIVE'], ['aliceLinear', 'bobLinear', 'aliceStripe', 'carolStripe', 'daveTwilio']],
    ['statuses', () => ['FAILED'], []],
  ];
  for (const [param, values, expected] of cases) {
    it(`filters by ${param}=${expected.join('+') || 'nothing'}, comma-joined and as repeated keys`, async () => {
      const v = values((n) => cfg[n]!);
      const want = of(...expected);
      expect(await ids(`${param}=${encodeURIComponent(v.join(','))}`), 'comma-joined (encoded)').toEqual(want);
      expect(await ids(`${param}=${v.join(',')}`), 'comma-joined').toEqual(want);
      expect(await ids(v.map((x) => `${param}=${encodeURIComponent(x)}`).join('&')), 'repeated keys').toEqual(want);
    });
  }

  it('combines filters (intersection)', async () => {
    expect(await ids('user_ids=alice&toolkit_slugs=stripe')).toEqual(of('aliceStripe'));
    expect(await ids('user_ids=alice,carol&statuses=ACTIVE')).toEqual(of('aliceStripe', 'aliceLinear'));
    expect(await ids(`toolkit_slugs=stripe&auth_config_ids=${cfg.linear}`)).toEqual([]);
    expect(await ids('user_ids=nobody')).toEqual([]);
  });

  it('rejects invalid filter values with 400', async () => {
    for (const q of ['statuses=WEIRD', 'statuses=ACTIVE,active', 'toolkit_slugs=%27%20OR%201%3D1', 'auth_config_ids=ca_abcdefgh', 'connected_account_ids=ac_abcdefgh', 'order_by=name', 'order_direction=up', 'account_type=EVERYONE']) {
      expectEnvelope(await get(`/connected_accounts?${q}`, p.apiKey), 400, 'Request_ValidationError');
    }
  });

  it('treats SQL metacharacters and unicode in user_ids as plain data', async () => {
    const users = ["o'brien; DROP TABLE x;--", 'ユーザー', '100%_match', 'back\\slash', '"quoted"', "' OR '1'='1"];
    const made = new Map<string, string>();
    for (const u of users) made.set(u, await createOk(cfg.linear!, { api_key: 'meta' }, { userId: u, apiKey: p.apiKey }));
    for (const u of users) {
      const l = await list(`user_ids=${encodeURIComponent(u)}`, p.apiKey);
      expect(l.items.map((i) => i.id), u).toEqual([made.get(u)]);
      expect(l.items[0]!.user_id).toBe(u);
      expect((await getAccount(made.get(u)!, p.apiKey)).user_id).toBe(u);
    }
    for (const probe of ['%', '_', 'ユーザ', "o'brien", '100%', '%match', "' OR '1'='1' --"]) {
      expect(await ids(`user_ids=${encodeURIComponent(probe)}`), probe).toEqual([]);
    }
    // Nothing was dropped.
    expect((await list('limit=1000', p.apiKey)).total_items).toBe(5 + users.length);
  });
});

describe('GET /connected_accounts (ordering and paging)', () => {
  let p: { projectId: string; apiKey: string };
  let cfgId: string;
  const order: string[] = [];
  beforeAll(async () => {
    p = await ctx.newProject();
    cfgId = await createConfig('linear', 'API_KEY', p.apiKey);
    for (let i = 0; i < 7; i++) {
      order.push(await createOk(cfgId, { api_key: `k${i}` }, { userId: `u${i % 3}`, apiKey: p.apiKey }));
      await sleep(5);
    }
    // Touch the two oldest so updated_at order differs from created_at order: 1 then 0 are the newest updates.
    await sleep(5);
    await patch(`/connected_accounts/${order[1]}`, { alias: 'touched-1' }, p.apiKey).expect(200);
    await sleep(5);
    await patch(`/connected_accounts/${order[0]}`, { alias: 'touched-0' }, p.apiKey).expect(200);
  });

  async function walk(q: string, limit: number, between?: (page: number) => Promise<void>) {
    const pages: List[] = [];
    let cursor: string | null = null;
    do {
      const page: List = await list(`${q}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, p.apiKey);
      pages.push(page);
      cursor = page.next_cursor;
      if (cursor && between) await between(pages.length);
      expect(pages.length).toBeLessThan(20);
    } while (cursor);
    return pages;
  }

  it('orders by created_at and updated_at, asc and desc (default created_at desc)', async () => {
    const byUpdate = [...order.slice(2), order[1]!, order[0]!];
    const expected: Record<string, string[]> = {
      'order_by=created_at&order_direction=asc': order,
      'order_by=created_at&order_direction=desc': [...order].reverse(),
      'order_by=updated_at&order_direction=asc': byUpdate,
      'order_by=updated_at&order_direction=desc': [...byUpdate].reverse(),
      'order_by=created_at': [...order].reverse(),
      'order_direction=asc': order,
      '': [...order].reverse(),
    };
    for (const [q, want] of Object.entries(expected)) {
      const l = await list(`${q}&limit=100`, p.apiKey);
      expect(l.items.map((i) => i.id), q).toEqual(want);
      const field = q.includes('updated_at') ? 'updated_at' : 'created_at';
      const times = l.items.map((i) => Date.parse(i[field]));
      const sortedTimes = [...times].sort((a, b) => (q.includes('asc') ? a - b : b - a));
      expect(times, q).toEqual(sortedTimes);
    }
  });

  it('pages through each ordering visiting every account exactly once, current_page incrementing', async () => {
    for (const by of ['created_at', 'updated_at']) {
      for (const dir of ['asc', 'desc']) {
        const q = `order_by=${by}&order_direction=${dir}`;
        const full = (await list(`${q}&limit=100`, p.apiKey)).items.map((i) => i.id);
        for (const limit of [1, 2, 3, 7]) {
          const pages = await walk(q, limit);
          expect(pages.flatMap((pg) => pg.items.map((i) => i.id)), `${q} limit=${limit}`).toEqual(full);
          expect(pages.map((pg) => pg.current_page)).toEqual(pages.map((_, i) => i + 1));
          expect(pages).toHaveLength(Math.ceil(7 / limit));
          for (const pg of pages) {
            expect(pg).toMatchObject({ total_items: 7, total_pages: Math.ceil(7 / limit) });
            expect(Object.keys(pg).sort()).toEqual(['current_page', 'items', 'next_cursor', 'total_items', 'total_pages']);
          }
          expect(pages.at(-1)!.next_cursor).toBeNull();
        }
      }
    }
  });

  it('above the exact bound, total_items is an estimate that never contradicts the pages and is exact on the last page', async () => {
    // The real service on the real repository, with the bound lowered from 10,000 to 3.
    const s = ctx.app.services;
    const service = connectedAccountsService({
      repo: connectedAccountsRepository(ctx.db, ctx.pool),
      authConfigs: s.authConfigs,
      toolkits: s.toolkits,
      oauth: s.oauth,
      store: accountStore({ db: ctx.db, pool: ctx.pool, crypto: createCrypto(TEST_SECRETS), audit: s.audit }),
      audit: s.audit,
      // Lists mint nothing; the real minted-token module, never called here.
      minted: mintedTokens({
        toolkits: s.toolkits,
        openConfigCredentials: s.authConfigs.openCredentials,
        settings: { guardedFetch: () => Promise.reject(new Error('no provider calls in this test')), allowInsecureLoopback: false, timeoutMs: 1000 },
      }),
      exactTotalUpTo: 3,
    });
    const caller = { projectId: p.projectId, keyId: 'test', maskCredentials: false };
    const q = { order_by: 'created_at', order_direction: 'desc', account_type: 'PRIVATE' } as const;
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await service.list(caller, { ...q, limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(page);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && pages.length < 10);
    expect(pages.flatMap((pg) => pg.items.map((i) => i.id))).toEqual([...order].reverse());
    pages.forEach((pg, i) => {
      const seen = 2 * i + pg.items.length;
      expect(pg.total_items).toBeGreaterThanOrEqual(pg.next_cursor ? Math.max(4, seen + 1) : seen);
      expect(pg.total_pages).toBe(Math.ceil(pg.total_items / 2));
    });
    expect(pages.at(-1)).toMatchObject({ total_items: 7, total_pages: 4, current_page: 4, next_cursor: null });
    // At or under the bound the count is exact (u1 owns accounts 1 and 4).
    const exact = await service.list(caller, { ...q, user_ids: ['u1'], limit: 1 });
    expect(exact.total_items).toBe(2);
  });

  it('keeps paging stable (keyset) when accounts are inserted between page fetches', async () => {
    const q = await ctx.newProject();
    const c = await createConfig('linear', 'API_KEY', q.apiKey);
    const originals: string[] = [];
    for (let i = 0; i < 7; i++) originals.push(await createOk(c, { api_key: `o${i}` }, { userId: 'pager', apiKey: q.apiKey }));
    for (const dir of ['desc', 'asc']) {
      const seen: string[] = [];
      const inserted: string[] = [];
      const pages: List[] = [];
      let cursor: string | null = null;
      do {
        const page: List = await list(`user_ids=pager&order_direction=${dir}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, q.apiKey);
        pages.push(page);
        seen.push(...page.items.map((i) => i.id));
        cursor = page.next_cursor;
        // New accounts arrive between fetches.
        if (cursor) for (let k = 0; k < 2; k++) inserted.push(await createOk(c, { api_key: 'late' }, { userId: 'pager', apiKey: q.apiKey }));
        expect(pages.length).toBeLessThan(20);
      } while (cursor);
      expect(new Set(seen).size, `${dir}: no duplicates`).toBe(seen.length);
      for (const id of originals) expect(seen.filter((s) => s === id), `${dir}: ${id} once`).toHaveLength(1);
      expect(pages.map((pg) => pg.current_page)).toEqual(pages.map((_, i) => i + 1));
      if (dir === 'desc') {
        // Newer accounts sort before the cursor: none of them shows up on later pages.
        expect(seen.filter((s) => inserted.includes(s))).toEqual([]);
        expect(seen.slice(0, 3)).toEqual([...originals].reverse().slice(0, 3));
      }
      originals.push(...inserted);
    }
  });

  it('rejects invalid cursors, a cursor used with another ordering, and bad limits', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
    for (const c of ['garbage!!', 'abc', b64({ foo: 1 }), b64({ o: 'created_at', d: 'desc', v: 'not-a-date', i: 'ca_x', p: 2 }), b64({ o: 'name', d: 'desc', v: new Date().toISOString(), i: 'ca_x', p: 2 }), 'x'.repeat(600)]) {
      const e = expectEnvelope(await get(`/connected_accounts?cursor=${encodeURIComponent(c)}`, p.apiKey), 400);
      expect(['Request_InvalidCursor', 'Request_ValidationError'], c).toContain(e.slug);
    }
    const first = await list('order_by=created_at&order_direction=desc&limit=2', p.apiKey);
    const cursor = encodeURIComponent(first.next_cursor!);
    for (const q of ['order_by=created_at&order_direction=asc', 'order_by=updated_at&order_direction=desc', 'order_by=updated_at', 'order_direction=asc']) {
      const e = expectEnvelope(await get(`/connected_accounts?${q}&limit=2&cursor=${cursor}`, p.apiKey), 400, 'Request_InvalidCursor');
      expect(e.message).toMatch(/order/i);
    }
    // Same ordering (spelled by default) is fine.
    await get(`/connected_accounts?limit=2&cursor=${cursor}`, p.apiKey).expect(200);
    for (const limit of ['0', '-1', '5000', '1001', 'abc', '1.5', '']) {
      expectEnvelope(await get(`/connected_accounts?limit=${encodeURIComponent(limit)}`, p.apiKey), 400, 'Request_ValidationError');
    }
    expect((await list('limit=1000', p.apiKey)).items).toHaveLength(7);
  });
});

describe('account_type', () => {
  it('lists PRIVATE accounts by default; SHARED ones with account_type=SHARED or ALL', async () => {
    const p = await ctx.newProject();
    const c = await createConfig('linear', 'API_KEY', p.apiKey);
    const priv = await createOk(c, { api_key: 'priv' }, { apiKey: p.apiKey });
    const res = await post(
      '/connected_accounts',
      { auth_config: { id: c }, connection: { user_id: 'team', experimental: { account_type: 'SHARED' }, state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'shared' } } } },
      p.apiKey,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const shared = (res.body as Created).id;
    const ids = async (q: string) => (await list(q, p.apiKey)).items.map((i) => i.id).sort();
    expect(await ids('')).toEqual([priv]);
    expect(await ids('account_type=PRIVATE')).toEqual([priv]);
    expect(await ids('account_type=SHARED')).toEqual([shared]);
    expect(await ids('account_type=ALL')).toEqual([priv, shared].sort());
    expect((await getAccount(shared, p.apiKey)) as unknown).toMatchObject({ experimental: { account_type: 'SHARED' } });
  });
});

describe('labels (Latchkey extension)', () => {
  type Labelled = Account & { labels: string[] };
  let p: Awaited<ReturnType<TestContext['newProject']>>;
  let cfg: string;
  const make = async (userId: string, labels?: unknown) => {
    const res = await post(
      '/connected_accounts',
      { auth_config: { id: cfg }, connection: { user_id: userId, ...(labels !== undefined ? { labels } : {}), state: { authScheme: 'API_KEY', val: { api_key: `k-${userId}` } } } },
      p.apiKey,
    );
    return res;
  };
  const ids = async (q: string) => (await list(q, p.apiKey)).items.map((i) => i.id).sort();
  const labelsOf = async (id: string) => ((await getAccount(id, p.apiKey)) as Labelled).labels;
  const acc = { billing: '', ops: '', none: '' };

  beforeAll(async () => {
    p = await ctx.newProject();
    cfg = await createConfig('linear', 'API_KEY', p.apiKey);
    acc.billing = (await make('ann', ['billing', 'env=prod', 'billing'])).body.id;
    acc.ops = (await make('ben', ['team:ops', 'env=prod'])).body.id;
    acc.none = (await make('ann')).body.id;
  });

  it('are set on create (duplicates dropped, order kept) and shown on GET and in lists', async () => {
    expect(await labelsOf(acc.billing)).toEqual(['billing', 'env=prod']);
    expect(await labelsOf(acc.none)).toEqual([]);
    const listed = (await list('', p.apiKey)).items as Labelled[];
    expect(Object.fromEntries(listed.map((i) => [i.id, i.labels]))).toEqual({ [acc.billing]: ['billing', 'env=prod'], [acc.ops]: ['team:ops', 'env=prod'], [acc.none]: [] });
  });

  it('filter lists: any of the labels, comma-joined or repeated, with the other filters', async () => {
    expect(await ids('labels=billing')).toEqual([acc.billing]);
    expect(await ids('labels=env%3Dprod')).toEqual([acc.billing, acc.ops].sort());
    expect(await ids('labels=billing,team:ops')).toEqual([acc.billing, acc.ops].sort());
    expect(await ids('labels=billing&labels=team:ops')).toEqual([acc.billing, acc.ops].sort());
    expect(await ids('labels=env=prod&user_ids=ben')).toEqual([acc.ops]);
    expect(await ids('labels=Billing')).toEqual([]); // case-sensitive
    const none = await list('labels=nothing-has-this', p.apiKey);
    expect([none.items, none.total_items]).toEqual([[], 0]);
    expect((await list('labels=env=prod&limit=1', p.apiKey)).total_items).toBe(2);
    // Another project's labels are not this project's.
    expect((await list('labels=billing')).items.map((i) => i.id)).not.toContain(acc.billing);
  });

  it('PATCH replaces them; [] removes them all; an omitted field keeps them', async () => {
    const id = (await make('cat', ['a', 'b'])).body.id as string;
    await patch(`/connected_accounts/${id}`, { labels: ['c', 'a'] }, p.apiKey).expect(200);
    expect(await labelsOf(id)).toEqual(['c', 'a']);
    await patch(`/connected_accounts/${id}`, { alias: 'x' }, p.apiKey).expect(200);
    expect(await labelsOf(id)).toEqual(['c', 'a']);
    expect(await ids('labels=b')).toEqual([]);
    await patch(`/connected_accounts/${id}`, { labels: [] }, p.apiKey).expect(200);
    expect(await labelsOf(id)).toEqual([]);
    expect(await ids('labels=a,c')).toEqual([]);
  });

  it('are bounded: at most 20, each 1-64 of A-Z a-z 0-9 _ - . : / = @; a bad one is a 400 and nothing is stored', async () => {
    const before = (await list('', p.apiKey)).total_items;
    const twenty = Array.from({ length: 20 }, (_, i) => `l${i}`);
    expect((await make('dee', twenty)).status).toBe(201);
    for (const bad of [[...twenty, 'l20'], ['x'.repeat(65)], ['has space'], ['a,b'], [''], ['ünï'], 'billing', [1]]) {
      expectEnvelope(await make('dee', bad), 400, 'Request_ValidationError');
    }
    expect((await list('', p.apiKey)).total_items).toBe(before + 1);
    expectEnvelope(await patch(`/connected_accounts/${acc.none}`, { labels: ['a b'] }, p.apiKey), 400, 'Request_ValidationError');
    expectEnvelope(await get(`/connected_accounts?labels=${'x'.repeat(65)}`, p.apiKey), 400, 'Request_ValidationError');
    expectEnvelope(await get('/connected_accounts?labels=a%20b', p.apiKey), 400, 'Request_ValidationError');
  });
});

describe('shared accounts (acl_config_for_shared)', () => {
  let p: Awaited<ReturnType<TestContext['newProject']>>;
  let cfg: string;
  const make = (userId: string, experimental?: object) =>
    post(
      '/connected_accounts',
      { auth_config: { id: cfg }, connection: { user_id: userId, ...(experimental ? { experimental } : {}), state: { authScheme: 'API_KEY', val: { api_key: `k-${userId}` } } } },
      p.apiKey,
    );
  const ids = async (q: string) => (await list(q, p.apiKey)).items.map((i) => i.id).sort();
  beforeAll(async () => {
    p = await ctx.newProject();
    cfg = await createConfig('linear', 'API_KEY', p.apiKey);
  });

  it('an ACL on create is stored for a SHARED account, and refused (nothing created) for a PRIVATE one', async () => {
    const shared = await make('owner', { account_type: 'SHARED', acl_config_for_shared: { allowed_user_ids: ['bob', 'bob'], not_allowed_user_ids: ['eve'] } });
    expect(shared.status, JSON.stringify(shared.body)).toBe(201);
    expect(((await getAccount(shared.body.id, p.apiKey)) as unknown as { experimental: object }).experimental).toEqual({
      account_type: 'SHARED',
      acl_config_for_shared: { allow_all_users: false, allowed_user_ids: ['bob'], not_allowed_user_ids: ['eve'] },
    });
    const before = (await list('account_type=ALL', p.apiKey)).total_items;
    for (const experimental of [{ acl_config_for_shared: { allow_all_users: true } }, { account_type: 'PRIVATE', acl_config_for_shared: {} }]) {
      const e = expectEnvelope(await make('owner', experimental), 400, 'ConnectedAccount_InvalidRequest');
      expect(e.message).toContain('acl_config_for_shared is only valid on SHARED');
    }
    expect((await list('account_type=ALL', p.apiKey)).total_items).toBe(before);
    // A PRIVATE account shows no ACL at all.
    const priv = await make('solo');
    expect(((await getAccount(priv.body.id, p.apiKey)) as unknown as { experimental: object }).experimental).toEqual({ account_type: 'PRIVATE' });
  });

  it('user_ids lists what any of the users may use, each account once; the type cannot be patched', async () => {
    const shared = (await make('owner2', { account_type: 'SHARED', acl_config_for_shared: { allowed_user_ids: ['bea', 'cid'] } })).body.id as string;
    const beas = (await make('bea')).body.id as string;
    expect(await ids('user_ids=bea,cid&account_type=ALL')).toEqual([shared, beas].sort());
    expect((await list('user_ids=bea,cid&account_type=ALL', p.apiKey)).total_items).toBe(2);
    expect(await ids('user_ids=bea')).toEqual([beas]); // PRIVATE only by default
    expect(await ids('user_ids=dan&account_type=SHARED')).toEqual([]);
    const e = expectEnvelope(await patch(`/connected_accounts/${shared}`, { experimental: { account_type: 'PRIVATE' } }, p.apiKey), 400, 'ConnectedAccount_InvalidRequest');
    expect(e.message).toContain('account_type');
    // An empty ACL patch changes nothing.
    await patch(`/connected_accounts/${shared}`, { experimental: { acl_config_for_shared: {} } }, p.apiKey).expect(200);
    expect(await ids('user_ids=cid&account_type=ALL')).toEqual([shared]);
  });

  it("auth_params for a user: another project's account is 404 whatever the user", async () => {
    const shared = (await make('owner3', { account_type: 'SHARED', acl_config_for_shared: { allow_all_users: true } })).body.id as string;
    await get(`/connected_accounts/${shared}/auth_params?user_id=anyone`, p.apiKey).expect(200);
    expectEnvelope(await get(`/connected_accounts/${shared}/auth_params?user_id=anyone`), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await get(`/connected_accounts/${shared}/auth_params?user_id=a%01b`, p.apiKey), 400, 'Request_ValidationError');
  });
});

describe('PATCH /connected_accounts/{id}', () => {
  it('sets and clears the alias', async () => {
    const id = await createOk(linearCfg, { api_key: 'alias-k' }, { userId: 'patcher' });
    const r = await patch(`/connected_accounts/${id}`, { alias: 'main' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ success: true, id, status: 'ACTIVE' });
    expect((await getAccount(id)).alias).toBe('main');
    await patch(`/connected_accounts/${id}`, {}).expect(200);
    expect((await getAccount(id)).alias).toBe('main');
    await patch(`/connected_accounts/${id}`, { alias: null }).expect(200);
    expect((await getAccount(id)).alias).toBeNull();
    await patch(`/connected_accounts/${id}`, { alias: 'again' }).expect(200);
    await patch(`/connected_accounts/${id}`, { alias: '' }).expect(200);
    expect((await getAccount(id)).alias).toBeNull();
    expectEnvelope(await patch(`/connected_accounts/${id}`, { alias: 'a\u0001b' }), 400, 'Request_ValidationError');
    expectEnvelope(await patch(`/connected_accounts/${id}`, { alias: 'x'.repeat(256) }), 400, 'Request_ValidationError');
  });

  it('patches credentials: omitted kept, null removes an optional field, a required one cannot go', async () => {
    const id = await createOk(linearCfg, { api_key: 'key-v1', generic_id: 'gid-1', note: 'n' });
    const state = (val: Record<string, unknown>, authScheme = 'API_KEY') => ({ connection: { state: { authScheme, val } } });

    const r = await patch(`/connected_accounts/${id}`, state({ api_key: 'key-v2' }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ success: true, id, status: 'ACTIVE' });
    expect((await getAccount(id)).state.val).toEqual({ status: 'ACTIVE', api_key: 'key-v2', generic_id: 'gid-1', note: 'n' });

    await patch(`/connected_accounts/${id}`, state({ generic_id: null })).expect(200);
    expect((await getAccount(id)).state.val).toEqual({ status: 'ACTIVE', api_key: 'key-v2', note: 'n' });

    // status inside val is ignored: status changes go through /status.
    await patch(`/connected_accounts/${id}`, state({ status: 'INACTIVE', note: 'n2' })).expect(200);
    expect((await getAccount(id)).state.val).toEqual({ status: 'ACTIVE', api_key: 'key-v2', note: 'n2' });

    const e = expectEnvelope(await patch(`/connected_accounts/${id}`, state({ api_key: null })), 400, 'ConnectedAccount_InvalidRequest');
    expect(e.message).toContain('api_key');
    expectEnvelope(await patch(`/connected_accounts/${id}`, state({ api_key: '' })), 400, 'ConnectedAccount_InvalidRequest');
    const w = expectEnvelope(await patch(`/connected_accounts/${id}`, state({ token: 't' }, 'BEARER_TOKEN')), 400, 'ConnectedAccount_InvalidRequest');
    expect(w.message).toContain('API_KEY');
    expectEnvelope(await patch(`/connected_accounts/${id}`, { connection: { state: { authScheme: 'API_KEY' } } }), 400, 'Request_ValidationError');
    // Nothing changed by the refused patches.
    expect((await getAccount(id)).state.val).toEqual({ status: 'ACTIVE', api_key: 'key-v2', note: 'n2' });
  });

  it('validates patched fields like created ones (hostile zendesk subdomain)', async () => {
    const id = await createOk(zendeskCfg, { subdomain: 'acme', username: 'agent@acme.com', password: 'p' }, { scheme: 'BASIC' });
    for (const subdomain of ['evil.com/x', 'a.b']) {
      const e = expectEnvelope(await patch(`/connected_accounts/${id}`, { connection: { state: { authScheme: 'BASIC', val: { subdomain } } } }), 400, 'ConnectedAccount_InvalidRequest');
      expect(e.message).toContain('subdomain');
    }
    expect((await getAccount(id)).state.val.subdomain).toBe('acme');
  });

  it('refuses acl_config_for_shared on a PRIVATE account', async () => {
    const id = await createOk(linearCfg, { api_key: 'acl' });
    const e = expectEnvelope(await patch(`/connected_accounts/${id}`, { experimental: { acl_config_for_shared: { allow_all_users: true } } }), 400);
    expect(e.message).toContain('acl_config_for_shared is only valid on SHARED');
  });
});

describe('PATCH /connected_accounts/{id}/status', () => {
  it('disables (INACTIVE, is_disabled) and enables (ACTIVE)', async () => {
    const id = await createOk(linearCfg, { api_key: 'status-k' });
    const off = await patch(`/connected_accounts/${id}/status`, { enabled: false });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toEqual({ success: true });
    let a = await getAccount(id);
    expect(a).toMatchObject({ status: 'INACTIVE', is_disabled: true, status_reason: 'Connection status updated by user' });
    expect(a.state.val.status).toBe('INACTIVE');
    expect(a.state.val.api_key).toBe('status-k');
    await patch(`/connected_accounts/${id}/status`, { enabled: false }).expect(200);

    const on = await patch(`/connected_accounts/${id}/status`, { enabled: true });
    expect(on.body).toEqual({ success: true });
    a = await getAccount(id);
    expect(a).toMatchObject({ status: 'ACTIVE', is_disabled: false, status_reason: null });
    await patch(`/connected_accounts/${id}/status`, { enabled: true }).expect(200);
    expect((await getAccount(id)).status).toBe('ACTIVE');

    for (const body of [{}, { enabled: 'yes' }, { enabled: null }]) {
      expectEnvelope(await patch(`/connected_accounts/${id}/status`, body), 400, 'Request_ValidationError');
    }
  });

  it('refuses a disallowed transition with 409 and x-should-retry: false', async () => {
    const id = await createOk(linearCfg, { api_key: 'failed-k' });
    await ctx.db.connectedAccount.update({ where: { id }, data: { status: 'FAILED' } });
    for (const enabled of [true, false]) {
      const res = await patch(`/connected_accounts/${id}/status`, { enabled });
      const e = expectEnvelope(res, 409, 'ConnectedAccount_InvalidTransition');
      expect(res.headers['x-should-retry']).toBe('false');
      expect(e.message).toContain('FAILED');
    }
    expect((await getAccount(id)).status).toBe('FAILED');
  });
});

describe('DELETE /connected_accounts/{id}', () => {
  it('soft-deletes: GET 404, list excludes it, routes answer 404', async () => {
    const id = await createOk(linearCfg, { api_key: 'del-k' }, { userId: 'deleter' });
    const res = await del(`/connected_accounts/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ success: true });
    expectEnvelope(await get(`/connected_accounts/${id}`), 404, 'ConnectedAccount_ResourceNotFound');
    expect((await list('user_ids=deleter')).items).toEqual([]);
    expect((await list(`connected_account_ids=${id}`)).items).toEqual([]);
    expectEnvelope(await del(`/connected_accounts/${id}`), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await patch(`/connected_accounts/${id}`, { alias: 'x' }), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await patch(`/connected_accounts/${id}/status`, { enabled: true }), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await post(`/connected_accounts/${id}/refresh`, {}), 404, 'ConnectedAccount_ResourceNotFound');
    expectEnvelope(await get(`/connected_accounts/${id}/auth_params`), 404, 'ConnectedAccount_ResourceNotFound');
    expect((await ctx.db.connectedAccount.findUnique({ where: { id } }))?.deletedAt).toBeInstanceOf(Date);
  });

  it('accepts revoke_on_delete and a JSON content type with no body', async () => {
    const id = await createOk(linearCfg, { api_key: 'del-k2' });
    await del(`/connected_accounts/${id}?revoke_on_delete=true`).set('content-type', 'application/json').expect(200);
    expectEnvelope(await get(`/connected_accounts/${id}`), 404);
  });
});

describe('refresh, revoke, auth_params', () => {
  it('refresh answers {id, status, redirect_url: null} and the account still works', async () => {
    const id = await createOk(linearCfg, { api_key: 'lin_api_refresh' });
    for (const req of [post(`/connected_accounts/${id}/refresh`, {}), post(`/connected_accounts/${id}/refresh?redirect_url=${encodeURIComponent('https://app.example.com/cb')}`, { validate_credentials: false })]) {
      const res = await req;
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ id, status: 'ACTIVE', redirect_url: null });
    }
    const a = await getAccount(id);
    expect(a).toMatchObject({ status: 'ACTIVE', state: { val: { api_key: 'lin_api_refresh' } } });
    const ap = await get(`/connected_accounts/${id}/auth_params`).expect(200);
    expect((ap.body as { parameters: { value: string }[] }).parameters[0]!.value).toBe('lin_api_refresh');
    expectEnvelope(await post(`/connected_accounts/${id}/refresh?redirect_url=javascript:alert(1)`, {}), 400, 'Request_ValidationError');
  });

  it('refresh accepts a POST with no body at all (the body is optional)', async () => {
    const id = await createOk(linearCfg, { api_key: 'lin_api_refresh_nobody' });
    const variants: [string, Res][] = [
      ['no body', await post(`/connected_accounts/${id}/refresh`)],
      ['no body, redirect_url in the query', await post(`/connected_accounts/${id}/refresh?redirect_url=${encodeURIComponent('https://app.example.com/cb')}`)],
      ['JSON content type, empty body', await post(`/connected_accounts/${id}/refresh`).set('content-type', 'application/json')],
    ];
    for (const [label, res] of variants) {
      expect.soft(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(200);
      if (res.status === 200) expect.soft(res.body, label).toEqual({ id, status: 'ACTIVE', redirect_url: null });
    }
  });

  it('revoke on an API-key account is a 400 and changes nothing', async () => {
    const id = await createOk(linearCfg, { api_key: 'lin_api_revoke' });
    const e = expectEnvelope(await post(`/connected_accounts/${id}/revoke`), 400, 'ConnectedAccount_NotSupported');
    expect(e.message).toContain('linear');
    expect((await getAccount(id)).status).toBe('ACTIVE');
  });

  it('gives linear auth params: base URL and the key in the Authorization header', async () => {
    const id = await createOk(linearCfg, { api_key: 'lin_api_params_123' });
    const res = await get(`/connected_accounts/${id}/auth_params`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const linear = catalogue.get('linear')!;
    const scheme = linear.auth_schemes.find((s) => s.mode === 'API_KEY')!;
    const baseUrl = (scheme as { base_url?: string }).base_url ?? linear.base_url;
    expect(baseUrl).toMatch(/^https:\/\/api\.linear\.app/);
    expect(res.body).toEqual({ base_url: baseUrl, parameters: [{ name: 'Authorization', in: 'header', value: 'lin_api_params_123' }], body: {} });
  });

  it('fills the zendesk subdomain into the base URL and sends Basic auth', async () => {
    const id = await createOk(zendeskCfg, { subdomain: 'acme', username: 'agent@acme.com', password: 'zd-api-token' }, { scheme: 'BASIC' });
    const res = await get(`/connected_accounts/${id}/auth_params`).expect(200);
    const basic = Buffer.from('agent@acme.com/token:zd-api-token', 'utf8').toString('base64');
    expect(res.body).toEqual({ base_url: 'https://acme.zendesk.com/api/v2', parameters: [{ name: 'Authorization', in: 'header', value: `Basic ${basic}` }], body: {} });
  });

  it('sends Basic auth for twilio', async () => {
    const id = await createOk(twilioCfg, { username: 'AC0123456789', password: 'tw-auth-token' }, { scheme: 'BASIC' });
    const res = await get(`/connected_accounts/${id}/auth_params`).expect(200);
    expect(res.body).toEqual({
      base_url: catalogue.get('twilio')!.base_url,
      parameters: [{ name: 'Authorization', in: 'header', value: `Basic ${Buffer.from('AC0123456789:tw-auth-token').toString('base64')}` }],
      body: {},
    });
  });

  it('refuses auth params for an account that is not ACTIVE', async () => {
    const id = await createOk(linearCfg, { api_key: 'lin_api_inactive' });
    await patch(`/connected_accounts/${id}/status`, { enabled: false }).expect(200);
    const res = await get(`/connected_accounts/${id}/auth_params`);
    expectEnvelope(res, 409, 'ConnectedAccount_InvalidTransition');
    expect(res.text).not.toContain('lin_api_inactive');
  });
});

describe('masking', () => {
  it('project masking hides secret values in create, GET and list; other fields stay', async () => {
    const p = await ctx.newProject();
    const cfgId = await createConfig('zendesk', 'BASIC', p.apiKey);
    const before = await createOk(cfgId, { subdomain: 'acme', username: 'agent@acme.com', password: 'zd-secret-1' }, { apiKey: p.apiKey, scheme: 'BASIC' });
    expect((await getAccount(before, p.apiKey)).state.val.password).toBe('zd-secret-1');

    await ctx.app.services.projects.setMasking(p.projectId, true);
    const created = await create(cfgId, { subdomain: 'beta', username: 'b@acme.com', password: 'zd-secret-2' }, { apiKey: p.apiKey, scheme: 'BASIC' });
    expect(created.status).toBe(201);
    expect((created.body as Created).connectionData.val).toEqual({ status: 'ACTIVE', subdomain: 'beta', username: 'b@acme.com', password: MASK });
    for (const id of [before, (created.body as Created).id]) {
      const g = await get(`/connected_accounts/${id}`, p.apiKey).expect(200);
      const a = g.body as Account;
      expect(a.state.val.password).toBe(MASK);
      expect(a.data.password).toBe(MASK);
      expect(a.state.val.subdomain).toEqual(expect.any(String));
      expect(a.state.val.username).toMatch(/@acme\.com$/);
      expect(g.text).not.toMatch(/zd-secret-/);
    }
    const l = await get('/connected_accounts', p.apiKey).expect(200);
    expect(l.text).not.toMatch(/zd-secret-/);
    for (const a of (l.body as List).items) expect(a.state.val.password).toBe(MASK);
    const ap = await get(`/connected_accounts/${before}/auth_params`, p.apiKey);
    expect(ap.text).not.toMatch(/zd-secret-/);
    expect(ap.text).not.toContain(Buffer.from('agent@acme.com/token:zd-secret-1').toString('base64'));

    await ctx.app.services.projects.setMasking(p.projectId, false);
    expect((await getAccount(before, p.apiKey)).state.val.password).toBe('zd-secret-1');
  });

  it("a masked key sees masked values while the project's other key sees them in clear", async () => {
    const p = await ctx.newProject();
    const masked = await ctx.app.services.projects.createKey(p.projectId, 'masked', { masked: true });
    const cfgId = await createConfig('linear', 'API_KEY', p.apiKey);
    const id = await createOk(cfgId, { api_key: 'lin_api_masked_key', generic_id: 'visible' }, { apiKey: p.apiKey });
    const viaMasked = await getAccount(id, masked.apiKey);
    expect(viaMasked.state.val).toEqual({ status: 'ACTIVE', api_key: MASK, generic_id: 'visible' });
    expect((await getAccount(id, p.apiKey)).state.val.api_key).toBe('lin_api_masked_key');
    const l = await get('/connected_accounts', masked.apiKey).expect(200);
    expect(l.text).not.toContain('lin_api_masked_key');
    const c = await create(cfgId, { api_key: 'lin_api_masked_create' }, { apiKey: masked.apiKey });
    expect((c.body as Created).connectionData.val.api_key).toBe(MASK);
    expect((await getAccount((c.body as Created).id, p.apiKey)).state.val.api_key).toBe('lin_api_masked_create');
    const ap = await get(`/connected_accounts/${id}/auth_params`, masked.apiKey);
    expect(ap.text).not.toContain('lin_api_masked_key');
  });
});

describe('tenancy', () => {
  it("another project's account is 404 on every route and absent from its lists", async () => {
    const other = await ctx.newProject();
    const id = await createOk(linearCfg, { api_key: 'lin_api_tenant' }, { userId: 'tenant-user', alias: 'tenant-alias' });
    const checks: [string, Res][] = [
      ['GET', await get(`/connected_accounts/${id}`, other.apiKey)],
      ['PATCH', await patch(`/connected_accounts/${id}`, { alias: 'stolen' }, other.apiKey)],
      ['PATCH creds', await patch(`/connected_accounts/${id}`, { connection: { state: { authScheme: 'API_KEY', val: { api_key: 'x' } } } }, other.apiKey)],
      ['STATUS', await patch(`/connected_accounts/${id}/status`, { enabled: false }, other.apiKey)],
      ['DELETE', await del(`/connected_accounts/${id}`, other.apiKey)],
      ['REFRESH', await post(`/connected_accounts/${id}/refresh`, {}, other.apiKey)],
      ['REVOKE', await post(`/connected_accounts/${id}/revoke`, undefined, other.apiKey)],
      ['AUTH_PARAMS', await get(`/connected_accounts/${id}/auth_params`, other.apiKey)],
    ];
    for (const [label, res] of checks) {
      expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(404);
      expectEnvelope(res, 404, 'ConnectedAccount_ResourceNotFound');
      expect(JSON.stringify(res.body)).not.toContain('lin_api_tenant');
    }
    for (const q of ['', `connected_account_ids=${id}`, 'user_ids=tenant-user', `auth_config_ids=${linearCfg}`, 'toolkit_slugs=linear', 'account_type=ALL&limit=1000']) {
      const l = await list(q, other.apiKey);
      expect(l.items.map((i) => i.id), q).not.toContain(id);
      expect(l.total_items, q).toBe(0);
    }
    // Unchanged for its owner.
    const a = await getAccount(id);
    expect(a).toMatchObject({ status: 'ACTIVE', alias: 'tenant-alias', state: { val: { api_key: 'lin_api_tenant' } } });
  });
});

describe('ids in paths', () => {
  const everyRoute = async (id: string): Promise<[string, Res][]> => [
    ['GET', await get(`/connected_accounts/${id}`)],
    ['PATCH', await patch(`/connected_accounts/${id}`, { alias: 'x' })],
    ['STATUS', await patch(`/connected_accounts/${id}/status`, { enabled: true })],
    ['DELETE', await del(`/connected_accounts/${id}`)],
    ['REFRESH', await post(`/connected_accounts/${id}/refresh`, {})],
    ['REVOKE', await post(`/connected_accounts/${id}/revoke`)],
    ['REFRESH_TOKEN', await post(`/connected_accounts/${id}/refresh_token`)],
    ['AUTH_PARAMS', await get(`/connected_accounts/${id}/auth_params`)],
  ];

  it('answers 404 ConnectedAccount_ResourceNotFound for an unknown but id-shaped id on every route, as Composio does', async () => {
    for (const raw of ['ca_anything', 'ca_gone', 'ca_abc', 'ca_x', 'ac_abcdefgh', 'ca_doesNotExist1', 'some-legacy_id', `ca_${'a'.repeat(61)}`]) {
      for (const [label, res] of await everyRoute(encodeURIComponent(raw))) {
        expect(res.status, `${label} ${raw}: ${JSON.stringify(res.body)}`).toBe(404);
        const e = expectEnvelope(res, 404, 'ConnectedAccount_ResourceNotFound');
        expect(e.message).toContain(raw);
      }
    }
  });

  it('answers 400 (never 500) for values no id can be, on every route', async () => {
    const raws = ["ca_'; DROP TABLE connected_accounts;--", 'ca_ユーザー', `ca_${'a'.repeat(62)}`, `ca_${'a'.repeat(100)}`, `ca_${'a'.repeat(497)}`, 'ca_%', 'ca_a b', 'ca_a.b'];
    for (const raw of raws) {
      for (const [label, res] of await everyRoute(encodeURIComponent(raw))) {
        expect(res.status, `${label} ${raw}: ${JSON.stringify(res.body)}`).toBe(400);
        expectEnvelope(res, 400);
      }
    }
    await get('/connected_accounts').expect(200);
  });
});

describe('OAuth2 URLs built from connection fields', () => {
  it('a missing optional field that the authorize URL needs is a 400, not a 500', async () => {
    const field = (name: string, required: boolean, extra = {}) => ({ name, displayName: name, type: 'string', description: `The ${name}.`, required, is_secret: false, ...extra });
    await post('/custom_toolkits', {
      slug: 'tenantauth',
      name: 'Tenant Auth',
      description: 'An OAuth provider with a host per tenant.',
      logo: 'https://tenant.example.com/logo.png',
      app_url: 'https://tenant.example.com',
      docs_url: 'https://tenant.example.com/docs',
      categories: [{ slug: 'testing', name: 'Testing' }],
      base_url: 'https://api.example.com',
      auth_schemes: [
        {
          mode: 'OAUTH2',
          name: 'Tenant OAuth',
          fields: {
            auth_config_creation: [field('client_id', true), { ...field('client_secret', true), is_secret: true }],
            connected_account_initiation: [field('tenant', false, { pattern: '^[a-z0-9-]{1,40}$' })],
          },
          oauth2: { authorization_url: 'https://{{tenant}}.example.com/authorize', token_url: 'https://{{tenant}}.example.com/token' },
        },
      ],
    }).expect(201);
    const cfg = await post('/auth_configs', {
      toolkit: { slug: 'tenantauth' },
      auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: { client_id: 'id', client_secret: 'secret' } },
    }).expect(201);
    const cfgId = (cfg.body as { auth_config: { id: string } }).auth_config.id;
    const missing = await post('/connected_accounts', { auth_config: { id: cfgId }, connection: { user_id: 'u-tenant' } });
    expectEnvelope(missing, 400, 'ConnectedAccount_InvalidRequest');
    const ok = await post('/connected_accounts', { auth_config: { id: cfgId }, connection: { user_id: 'u-tenant', state: { authScheme: 'OAUTH2', val: { tenant: 'acme' } } } }).expect(201);
    expect((ok.body as { redirect_url: string }).redirect_url).toMatch(/^https:\/\/acme\.example\.com\/authorize\?/);
  });
});
