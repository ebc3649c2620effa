/**
 * The catalogue's list routes over HTTP: `GET /toolkits/categories`, `POST /toolkits/multi`,
 * `sort_by=usage`, the older API's app list serving the same catalogue, a toolkit without a logo or
 * unverified facts answered in Composio's shape, and schemes Latchkey cannot connect refused plainly.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { categoriesOf } from '../src/modules/toolkits/categories.js';
import { useTestContext } from './support/context.js';
import { expectEnvelope } from './support/expect.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

const ctx = useTestContext();

const V = '/api/v3.1';
const catalogue = loadCatalogue();
const builtInSlugs = [...catalogue.keys()].sort();

type ListItem = { slug: string; type: string; meta: { logo: string; app_url: string | null; categories: { id: string; name: string }[] } };
type List = { items: ListItem[]; next_cursor: string | null; total_pages: number; current_page: number; total_items: number };

const get = (path: string, apiKey = ctx.apiKey) => ctx.http.get(`${V}${path}`).set('x-api-key', apiKey);
const multi = (body: unknown, apiKey = ctx.apiKey, prefix = V) => ctx.http.post(`${prefix}/toolkits/multi`).set('x-api-key', apiKey).send(body as object);

/** A project's own toolkit: one API-key scheme that can be connected, one the provider offers but that was not checked. */
function ownToolkit(slug: string, extra: Record<string, unknown> = {}) {
  return {
    slug,
    name: `Own ${slug}`,
    description: 'A toolkit registered by a test project.',
    app_url: 'https://own.example.com',
    docs_url: 'https://own.example.com/docs',
    base_url: 'https://api.own.example.com',
    categories: [{ slug: 'internal-tools', name: 'Internal Tools' }],
    auth_schemes: [
      {
        mode: 'API_KEY',
        name: 'Own key',
        fields: { connected_account_initiation: [{ name: 'api_key', displayName: 'API key', type: 'string', description: 'The key.', required: true, is_secret: true }] },
        request_auth: [{ in: 'header', name: 'x-api-key', value: '{{api_key}}' }],
      },
      { mode: 'OAUTH2', name: 'Own OAuth', availability: 'unverified', note: 'Endpoints not confirmed yet.', fields: {} },
    ],
    ...extra,
  };
}

describe('GET /toolkits/categories', () => {
  it('lists every category the catalogue uses once, with its registry name, in the list envelope', async () => {
    const p = await ctx.newProject();
    const body = (await get('/toolkits/categories', p.apiKey).expect(200)).body as Omit<List, 'items'> & { items: { id: string; name: string }[] };
    const expected = categoriesOf(catalogue.values());
    expect(body.items).toEqual(expected);
    expect(body).toMatchObject({ next_cursor: null, current_page: 1, total_pages: 1, total_items: expected.length });
    expect(body.items.find((c) => c.id === 'crm')).toEqual({ id: 'crm', name: 'CRM' });
    // Every id filters the list to at least one toolkit.
    const sample = body.items.filter((_, i) => i % 40 === 0);
    for (const c of sample) {
      const list = (await get(`/toolkits?category=${encodeURIComponent(c.id)}&limit=1000`, p.apiKey).expect(200)).body as List;
      expect(list.total_items, c.id).toBeGreaterThan(0);
      for (const i of list.items) expect(i.meta.categories.map((x) => x.id), c.id).toContain(c.id);
    }
  });

  it("adds the categories of the project's own toolkits, for that project only, and answers under /api/v3", async () => {
    const p = await ctx.newProject();
    const other = await ctx.newProject();
    await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', p.apiKey).send(ownToolkit('own_cat')).expect(201);
    const mine = (await get('/toolkits/categories', p.apiKey).expect(200)).body as { items: { id: string; name: string }[] };
    expect(mine.items).toContainEqual({ id: 'internal-tools', name: 'Internal Tools' });
    const theirs = (await ctx.http.get('/api/v3/toolkits/categories').set('x-api-key', other.apiKey).expect(200)).body as { items: { id: string }[] };
    expect(theirs.items.map((c) => c.id)).not.toContain('internal-tools');
    expect(theirs.items.length).toBe(mine.items.length - 1);
  });

  it('needs an API key', async () => {
    expectEnvelope(await ctx.http.get(`${V}/toolkits/categories`), 401);
  });

  it('is a route, so no project may name its own toolkit "categories"', async () => {
    const res = await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', ctx.apiKey).send(ownToolkit('categories'));
    expect(expectEnvelope(res, 400, 'Toolkit_InvalidDefinition').message).toContain('reserved');
    expect(catalogue.has('categories')).toBe(false);
  });
});

describe('POST /toolkits/multi', () => {
  it('returns the named toolkits in the list shape, ordered by slug; unknown and other projects\' slugs are left out', async () => {
    const p = await ctx.newProject();
    const other = await ctx.newProject();
    await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', other.apiKey).send(ownToolkit('their_own')).expect(201);
    const body = (await multi({ toolkits: ['SLACK', 'github', 'gmail', 'no-such-toolkit', 'their_own'] }, p.apiKey).expect(200)).body as List;
    expect(body.items.map((i) => i.slug)).toEqual(['github', 'gmail', 'slack']);
    expect(body).toMatchObject({ total_items: 3, next_cursor: null, current_page: 1, total_pages: 1 });
    const listed = (await get('/toolkits?limit=1000', p.apiKey).expect(200)).body as List;
    expect(body.items).toEqual(listed.items.filter((i) => ['github', 'gmail', 'slack'].includes(i.slug)));
  });

  it('without slugs is the list with its filters in the body, paged by cursor; also under /api/v3', async () => {
    const p = await ctx.newProject();
    const first = (await multi({ limit: 100 }, p.apiKey, '/api/v3').expect(200)).body as List;
    expect(first.items.map((i) => i.slug)).toEqual(builtInSlugs.slice(0, 100));
    expect(first.total_items).toBe(catalogue.size);
    const second = (await multi({ limit: 100, cursor: first.next_cursor }, p.apiKey).expect(200)).body as List;
    expect(second.items.map((i) => i.slug)).toEqual(builtInSlugs.slice(100, 200));
    expect(second.current_page).toBe(2);
    const crm = (await multi({ category: 'CRM', toolkits: ['hubspot', 'github', 'salesforce'] }, p.apiKey).expect(200)).body as List;
    expect(crm.items.map((i) => i.slug)).toEqual(['hubspot', 'salesforce']);
    const project = (await multi({ managed_by: 'project', limit: null }, p.apiKey).expect(200)).body as List;
    expect(project.items).toEqual([]);
  });

  it('refuses bad input with 400 in the envelope', async () => {
    for (const body of [{ toolkits: 'github' }, { toolkits: ['../etc'] }, { limit: 0 }, { limit: 5000 }, { sort_by: 'random' }, { managed_by: 'me' }, { cursor: 'garbage!!' }]) {
      const res = await multi(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectEnvelope(res, 400);
    }
  });
});

describe('sort_by=usage', () => {
  it("orders by the project's live connected accounts per toolkit, then by slug, and pages without repeats", async () => {
    const p = await ctx.newProject();
    const linear = await linearConfig(ctx, p.apiKey);
    for (const userId of ['u1', 'u2']) await apiKeyAccount(ctx, linear, { userId, apiKey: p.apiKey });
    const stripe = (
      await ctx.http
        .post(`${V}/auth_configs`)
        .set('x-api-key', p.apiKey)
        .send({ toolkit: { slug: 'stripe' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } })
        .expect(201)
    ).body.auth_config.id as string;
    await apiKeyAccount(ctx, stripe, { userId: 'u1', apiKey: p.apiKey, key: 'sk_test_x' });
    // Another project's accounts do not count here.
    const other = await ctx.newProject();
    const otherLinear = await linearConfig(ctx, other.apiKey);
    for (const userId of ['a', 'b', 'c']) await apiKeyAccount(ctx, otherLinear, { userId, apiKey: other.apiKey });

    const byUsage = (await get('/toolkits?sort_by=usage&limit=5', p.apiKey).expect(200)).body as List;
    const rest = builtInSlugs.filter((s) => s !== 'linear' && s !== 'stripe');
    expect(byUsage.items.map((i) => i.slug)).toEqual(['linear', 'stripe', ...rest.slice(0, 3)]);
    const pages = [byUsage];
    while (pages.at(-1)!.next_cursor) {
      pages.push((await get(`/toolkits?sort_by=usage&limit=200&cursor=${pages.at(-1)!.next_cursor}`, p.apiKey).expect(200)).body as List);
    }
    expect(pages.flatMap((pg) => pg.items.map((i) => i.slug))).toEqual(['linear', 'stripe', ...rest]);
    const viaMulti = (await multi({ sort_by: 'usage', toolkits: ['zoom', 'stripe', 'linear', 'github'] }, p.apiKey).expect(200)).body as List;
    expect(viaMulti.items.map((i) => i.slug)).toEqual(['linear', 'stripe', 'github', 'zoom']);
    // The other project's usage: linear first there, stripe in slug order.
    const theirs = (await get('/toolkits?sort_by=usage&limit=2', other.apiKey).expect(200)).body as List;
    expect(theirs.items.map((i) => i.slug)).toEqual(['linear', builtInSlugs.filter((s) => s !== 'linear')[0]]);
  });
});

describe('GET /api/v1/apps', () => {
  it('serves the whole catalogue, with the project\'s own toolkits, in one page', async () => {
    const p = await ctx.newProject();
    await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', p.apiKey).send(ownToolkit('own_app')).expect(201);
    const body = (await ctx.http.get('/api/v1/apps').set('x-api-key', p.apiKey).expect(200)).body as { items: { key: string; appId: string; logo: string }[] };
    expect(body.items.map((a) => a.key)).toEqual([...builtInSlugs, 'own_app'].sort());
    expect(body.items.length).toBeGreaterThan(500);
    for (const a of body.items) expect(typeof a.logo).toBe('string');
  });
});

describe('entries with facts left out', () => {
  it('answer logo "" (a string), app_url null, no guide URL and an empty base URL; the scheme says it is not available', async () => {
    const p = await ctx.newProject();
    const bare = { slug: 'own_bare', name: 'Bare', description: 'Bare: Internal Tools.', categories: [{ slug: 'internal-tools', name: 'Internal Tools' }] };
    await ctx.http
      .post(`${V}/custom_toolkits`)
      .set('x-api-key', p.apiKey)
      .send({ ...bare, verification: { status: 'unverified' }, auth_schemes: [{ mode: 'API_KEY', name: 'Bare key', availability: 'unverified', fields: {} }] })
      .expect(201);
    const d = (await get('/toolkits/own_bare', p.apiKey).expect(200)).body as Record<string, unknown> & { meta: Record<string, unknown>; auth_config_details: Record<string, unknown>[] };
    expect(d.meta.logo).toBe('');
    expect(d.meta.app_url).toBeNull();
    expect(d.auth_guide_url).toBeNull();
    expect(d.base_url).toBe('');
    expect(d.verification).toEqual({ status: 'unverified', sources: [] });
    expect(d.auth_config_details[0]).toMatchObject({ mode: 'API_KEY', availability: 'unverified' });
    // Without `unverified`, what was left out is required.
    const refused = await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', p.apiKey).send({ ...bare, slug: 'own_bare2', auth_schemes: [] });
    const e = expectEnvelope(refused, 400);
    expect(e.message).toMatch(/docs_url is required unless the entry is unverified/);
  });

  it('a built-in entry without a logo is answered with logo "" in the list and the detail', async () => {
    const noLogo = [...catalogue.values()].find((t) => !t.logo);
    expect(noLogo, 'the catalogue has entries without a logo').toBeDefined();
    const d = (await get(`/toolkits/${noLogo!.slug}`).expect(200)).body as { meta: { logo: string } };
    expect(d.meta.logo).toBe('');
    const listed = (await multi({ toolkits: [noLogo!.slug] }).expect(200)).body as List;
    expect(listed.items[0]!.meta.logo).toBe('');
  });
});

describe('schemes Latchkey cannot connect', () => {
  it('creating an auth config for an unverified scheme is a 400 saying so, and nothing is written', async () => {
    const p = await ctx.newProject();
    await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', p.apiKey).send(ownToolkit('own_schemes')).expect(201);
    const res = await ctx.http
      .post(`${V}/auth_configs`)
      .set('x-api-key', p.apiKey)
      .send({ toolkit: { slug: 'own_schemes' }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: { client_id: 'a', client_secret: 'b' } } });
    const e = expectEnvelope(res, 400, 'AuthConfig_SchemeNotAvailable');
    expect(e.message).toMatch(/OAUTH2.*unverified/);
    expect(e.message).toMatch(/Endpoints not confirmed yet/);
    expect(e.suggested_fix).toMatch(/API_KEY/);
    expect(JSON.stringify(res.body)).not.toContain('"b"');
    const list = (await get('/auth_configs', p.apiKey).expect(200)).body as { items: unknown[] };
    expect(list.items).toEqual([]);
    // The available scheme of the same toolkit works.
    await ctx.http
      .post(`${V}/auth_configs`)
      .set('x-api-key', p.apiKey)
      .send({ toolkit: { slug: 'own_schemes' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } })
      .expect(201);
  });

  it('a built-in unsupported scheme is refused the same way, managed or custom', async () => {
    const entry = [...catalogue.values()].find((t) => t.auth_schemes.length === 1 && t.auth_schemes[0]!.availability === 'unsupported');
    expect(entry, 'the catalogue lists an unsupported scheme (SAML, BILLCOM_AUTH, CALCOM_AUTH or BASIC_WITH_JWT)').toBeDefined();
    const scheme = entry!.auth_schemes[0]!;
    const p = await ctx.newProject();
    const custom = await ctx.http
      .post(`${V}/auth_configs`)
      .set('x-api-key', p.apiKey)
      .send({ toolkit: { slug: entry!.slug }, auth_config: { type: 'use_custom_auth', authScheme: scheme.mode, credentials: {} } });
    expect(expectEnvelope(custom, 400, 'AuthConfig_SchemeNotAvailable').message).toContain('unsupported');
    const managed = await ctx.http.post(`${V}/auth_configs`).set('x-api-key', p.apiKey).send({ toolkit: { slug: entry!.slug } });
    expectEnvelope(managed, 400, 'AuthConfig_SchemeNotAvailable');
    const list = (await get('/auth_configs', p.apiKey).expect(200)).body as { items: unknown[] };
    expect(list.items).toEqual([]);
  });
});

describe('toolkits a project saved before schemes had an availability', () => {
  it('are read as available: shown so, listed, and an auth config can be made for them', async () => {
    const p = await ctx.newProject();
    // As an earlier version stored it: validated, but without the `availability` added since.
    const old = ownToolkit('own_older');
    const stored = { ...old, auth_schemes: [{ ...old.auth_schemes[0], fields: { auth_config_creation: [], ...old.auth_schemes[0]!.fields }, request_auth: old.auth_schemes[0]!.request_auth }] };
    delete (stored.auth_schemes[0] as Record<string, unknown>).availability;
    await ctx.db.customToolkit.create({ data: { id: 'tk_older000001', projectId: p.projectId, slug: 'own_older', definition: stored } });
    const d = (await get('/toolkits/own_older', p.apiKey).expect(200)).body as { auth_config_details: { mode: string; availability: string }[] };
    expect(d.auth_config_details).toEqual([expect.objectContaining({ mode: 'API_KEY', availability: 'available' })]);
    const listed = (await multi({ toolkits: ['own_older'] }, p.apiKey).expect(200)).body as List;
    expect(listed.items.map((i) => i.type)).toEqual(['custom']);
    await ctx.http
      .post(`${V}/auth_configs`)
      .set('x-api-key', p.apiKey)
      .send({ toolkit: { slug: 'own_older' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } })
      .expect(201);
  });
});
