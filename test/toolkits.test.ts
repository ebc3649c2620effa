/**
 * The toolkit routes over HTTP: Composio's detail and list shapes, paging, filters, hostile input, and
 * a project's own toolkits (visible to that project only).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { AUTH_SCHEMES } from '../src/modules/toolkits/toolkit-definition.js';
import { useTestContext } from './support/context.js';
import { type Res, expectEnvelope } from './support/expect.js';

const ctx = useTestContext();

const V = '/api/v3.1';
const catalogue = loadCatalogue();
const builtInSlugs = [...catalogue.keys()].sort();


/** Any 4xx in the envelope: bad input must never be a 500. */
function expectClientError(res: Res, label: string) {
  expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, label).toBeLessThan(500);
  return expectEnvelope(res, res.status);
}

const get = (path: string, apiKey = ctx.apiKey) => ctx.http.get(`${V}${path}`).set('x-api-key', apiKey);

type Field = { name: string; displayName: string; type: string; description: string; required: boolean; is_secret: boolean; default?: string | null };
type Group = { required: Field[]; optional: Field[] };
type Detail = {
  slug: string;
  name: string;
  type: 'native' | 'custom';
  base_url: string;
  meta: { description: string; logo: string; app_url: string | null; categories: { slug: string; name: string }[] };
  auth_config_details: { mode: string; name: string; fields: { auth_config_creation: Group; connected_account_initiation: Group } }[];
};
type ListItem = { slug: string; name: string; type: 'native' | 'custom'; auth_schemes: string[]; meta: { description: string; categories: { id: string; name: string }[] } };
type List = { items: ListItem[]; next_cursor: string | null; total_pages: number; current_page: number; total_items: number };

const FIELD_KEYS = new Set(['name', 'displayName', 'type', 'description', 'required', 'is_secret', 'default']);

function expectComposioDetail(d: Detail) {
  expect(d.meta.description.length).toBeGreaterThan(0);
  expect(d.meta.logo).toMatch(/^https:\/\//);
  expect(d.meta.app_url).toMatch(/^https:\/\//);
  expect(d.meta.categories.length).toBeGreaterThan(0);
  for (const c of d.meta.categories) {
    expect(Object.keys(c).sort()).toEqual(['name', 'slug']);
    expect(c.slug).toMatch(/^[a-z0-9-]+$/);
  }
  expect(d.auth_config_details.length).toBeGreaterThan(0);
  for (const a of d.auth_config_details) {
    expect(a.mode).toBe(a.mode.toUpperCase());
    expect(AUTH_SCHEMES).toContain(a.mode);
    for (const group of [a.fields.auth_config_creation, a.fields.connected_account_initiation]) {
      expect(Object.keys(group).sort()).toEqual(['optional', 'required']);
      for (const [list, required] of [[group.required, true], [group.optional, false]] as const) {
        for (const f of list) {
          for (const k of Object.keys(f)) expect(FIELD_KEYS.has(k), `unexpected field key ${k}`).toBe(true);
          expect(typeof f.name).toBe('string');
          expect(typeof f.displayName).toBe('string');
          expect(typeof f.type).toBe('string');
          expect(typeof f.description).toBe('string');
          expect(f.required).toBe(required);
          expect(typeof f.is_secret).toBe('boolean');
        }
      }
    }
  }
  expect(JSON.stringify(d)).not.toContain('"pattern"');
}

const fieldNames = (fs: Field[]) => fs.map((f) => f.name);

describe('GET /toolkits/{slug}', () => {
  it("returns github in Composio's shape", async () => {
    const res = await get('/toolkits/github').expect(200);
    const d = res.body as Detail;
    expect(d.slug).toBe('github');
    expect(d.name).toBe('GitHub');
    expect(d.type).toBe('native');
    expectComposioDetail(d);
    expect(d.meta.categories).toEqual(catalogue.get('github')!.categories);
    const oauth = d.auth_config_details.find((a) => a.mode === 'OAUTH2')!;
    expect(oauth).toBeDefined();
    expect(fieldNames(oauth.fields.auth_config_creation.required)).toEqual(expect.arrayContaining(['client_id', 'client_secret']));
    expect(oauth.fields.auth_config_creation.required.find((f) => f.name === 'client_secret')!.is_secret).toBe(true);
    expect(oauth.fields.auth_config_creation.required.find((f) => f.name === 'client_id')!.is_secret).toBe(false);
    expect(d.auth_config_details.map((a) => a.mode)).toEqual(catalogue.get('github')!.auth_schemes.map((s) => s.mode));
  });

  it('never shows the internal pattern of a field', async () => {
    for (const slug of ['shopify', 'zendesk', 'salesforce', 'jira']) {
      const res = await get(`/toolkits/${slug}`).expect(200);
      expectComposioDetail(res.body as Detail);
      // The catalogue does have patterns there: the check above is not vacuous.
      expect(JSON.stringify(catalogue.get(slug))).toContain('"pattern"');
    }
  });

  it('accepts slugs in any case', async () => {
    const lower = await get('/toolkits/github').expect(200);
    for (const s of ['GITHUB', 'GitHub']) {
      const res = await get(`/toolkits/${s}`).expect(200);
      expect(res.body).toEqual(lower.body);
    }
  });

  it("linear has an API_KEY scheme asking the user for a secret api_key", async () => {
    const d = (await get('/toolkits/linear').expect(200)).body as Detail;
    const apiKey = d.auth_config_details.find((a) => a.mode === 'API_KEY');
    expect(apiKey).toBeDefined();
    const field = apiKey!.fields.connected_account_initiation.required.find((f) => f.name === 'api_key');
    expect(field).toMatchObject({ name: 'api_key', required: true, is_secret: true });
  });

  it("shopify's OAUTH2 scheme asks the end user for shop_name", async () => {
    const d = (await get('/toolkits/shopify').expect(200)).body as Detail;
    const oauth = d.auth_config_details.find((a) => a.mode === 'OAUTH2')!;
    expect(fieldNames(oauth.fields.connected_account_initiation.required)).toContain('shop_name');
    expect(fieldNames(oauth.fields.auth_config_creation.required)).not.toContain('shop_name');
    expect(d.base_url).toContain('{{shop_name}}');
  });

  it('answers 404 Toolkit_ResourceNotFound for an unknown slug', async () => {
    expectEnvelope(await get('/toolkits/no-such-toolkit'), 404, 'Toolkit_ResourceNotFound');
    expectEnvelope(await get('/toolkits/NO-SUCH-TOOLKIT'), 404, 'Toolkit_ResourceNotFound');
  });

  it('gives the same answer under /api/v3', async () => {
    const a = await get('/toolkits/github').expect(200);
    const b = await ctx.http.get('/api/v3/toolkits/github').set('x-api-key', ctx.apiKey).expect(200);
    expect(b.body).toEqual(a.body);
    expectEnvelope(await ctx.http.get('/api/v3/toolkits/no-such-toolkit').set('x-api-key', ctx.apiKey), 404, 'Toolkit_ResourceNotFound');
    const la = await get('/toolkits?limit=5').expect(200);
    const lb = await ctx.http.get('/api/v3/toolkits?limit=5').set('x-api-key', ctx.apiKey).expect(200);
    expect(lb.body).toEqual(la.body);
  });
});

describe('GET /toolkits', () => {
  /** A project of its own, so other tests' custom toolkits do not change what it sees. */
  let fresh: { apiKey: string };
  beforeAll(async () => {
    fresh = await ctx.newProject();
  });

  async function walk(query: string, apiKey: string) {
    const pages: List[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await get(`/toolkits?${q}`, apiKey);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const page = res.body as List;
      pages.push(page);
      cursor = page.next_cursor;
      expect(pages.length).toBeLessThan(100);
    } while (cursor);
    return pages;
  }

  it('answers in the list envelope', async () => {
    const res = await get('/toolkits', fresh.apiKey).expect(200);
    const body = res.body as List;
    expect(Object.keys(body).sort()).toEqual(['current_page', 'items', 'next_cursor', 'total_items', 'total_pages']);
    expect(body.total_items).toBe(catalogue.size);
    expect(body.current_page).toBe(1);
    // The default limit is 50: the first 50 by slug, and a cursor for the rest.
    expect(body.items.map((i) => i.slug)).toEqual(builtInSlugs.slice(0, 50));
    expect(body.next_cursor).toEqual(expect.any(String));
    expect(body.total_pages).toBe(Math.ceil(catalogue.size / 50));
    const all = (await get('/toolkits?limit=1000', fresh.apiKey).expect(200)).body as List;
    expect(all.items.map((i) => i.slug)).toEqual(builtInSlugs);
    const gh = all.items.find((i) => i.slug === 'github')!;
    expect(gh).toMatchObject({ name: 'GitHub', type: 'native', auth_schemes: ['OAUTH2', 'BEARER_TOKEN', 'SERVICE_ACCOUNT'] });
    expect(gh.meta.categories).toEqual(catalogue.get('github')!.categories.map((c) => ({ id: c.slug, name: c.name })));
  });

  it('walks every toolkit exactly once, sorted by slug, with limit=37', async () => {
    const pages = await walk('limit=37', fresh.apiKey);
    const slugs = pages.flatMap((p) => p.items.map((i) => i.slug));
    expect(slugs).toEqual(builtInSlugs);
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(pages).toHaveLength(Math.ceil(catalogue.size / 37));
    pages.forEach((p, i) => {
      expect(p.current_page).toBe(i + 1);
      expect(p.total_items).toBe(catalogue.size);
      expect(p.total_pages).toBe(pages.length);
      expect(p.items.length).toBe(i < pages.length - 1 ? 37 : catalogue.size - 37 * (pages.length - 1));
      if (i < pages.length - 1) expect(p.next_cursor).toEqual(expect.any(String));
    });
    expect(pages.at(-1)!.next_cursor).toBeNull();
  });

  it("interleaves a project's own toolkits in slug order when walking", async () => {
    const p = await ctx.newProject();
    const own = ['aaa_first', 'hubspot_clone', 'zzz_last'];
    for (const slug of own) {
      await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', p.apiKey).send(customToolkit(slug)).expect(201);
    }
    const pages = await walk('limit=37', p.apiKey);
    const slugs = pages.flatMap((pg) => pg.items.map((i) => i.slug));
    expect(slugs).toEqual([...builtInSlugs, ...own].sort());
    expect(pages.map((pg) => pg.current_page)).toEqual(pages.map((_, i) => i + 1));
    expect(pages.at(-1)!.next_cursor).toBeNull();
    const types = new Map(pages.flatMap((pg) => pg.items.map((i) => [i.slug, i.type] as const)));
    for (const slug of own) expect(types.get(slug)).toBe('custom');
    expect(types.get('github')).toBe('native');
  });

  it('filters by category, by slug or by name, case-insensitively', async () => {
    const expected = builtInSlugs.filter((s) => catalogue.get(s)!.categories.some((c) => c.slug === 'developer-tools'));
    expect(expected.length).toBeGreaterThan(1);
    expect(expected.length).toBeLessThan(catalogue.size);
    for (const category of ['developer-tools', 'Developer Tools', 'DEVELOPER-TOOLS']) {
      const body = (await get(`/toolkits?category=${encodeURIComponent(category)}`, fresh.apiKey).expect(200)).body as List;
      expect(body.items.map((i) => i.slug), category).toEqual(expected);
      expect(body.total_items).toBe(expected.length);
      for (const i of body.items) expect(i.meta.categories.map((c) => c.id)).toContain('developer-tools');
    }
    const none = (await get('/toolkits?category=no-such-category', fresh.apiKey).expect(200)).body as List;
    expect(none).toMatchObject({ items: [], total_items: 0, next_cursor: null });
  });

  it('searches name, slug and description, case-insensitively', async () => {
    const matches = (term: string) =>
      builtInSlugs.filter((s) => {
        const t = catalogue.get(s)!;
        return [t.slug, t.name, t.description].some((x) => x.toLowerCase().includes(term.toLowerCase()));
      });
    const cases: [string, (slugs: string[]) => void][] = [
      ['GitHub', (s) => expect(s).toContain('github')], // name
      ['GITHUB', (s) => expect(s).toContain('github')],
      ['googlesh', (s) => expect(s).toEqual(['googlesheets'])], // slug only
      ['pull requests', (s) => expect(s).toContain('github')], // description only
      ['PULL REQUESTS', (s) => expect(s).toContain('github')],
    ];
    for (const [term, check] of cases) {
      const body = (await get(`/toolkits?search=${encodeURIComponent(term)}`, fresh.apiKey).expect(200)).body as List;
      const slugs = body.items.map((i) => i.slug);
      expect(slugs, term).toEqual(matches(term));
      expect(slugs.length, term).toBeLessThan(catalogue.size);
      check(slugs);
    }
  });

  it('combines search and category', async () => {
    const body = (await get('/toolkits?search=google&category=email', fresh.apiKey).expect(200)).body as List;
    const expected = builtInSlugs.filter((s) => {
      const t = catalogue.get(s)!;
      return t.categories.some((c) => c.slug === 'email') && [t.slug, t.name, t.description].some((x) => x.toLowerCase().includes('google'));
    });
    expect(expected).toContain('gmail');
    expect(body.items.map((i) => i.slug)).toEqual(expected);
  });

  it('filters by type and managed_by', async () => {
    const p = await ctx.newProject();
    await ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', p.apiKey).send(customToolkit('mine_only')).expect(201);
    const native = (await get('/toolkits?type=native&limit=1000', p.apiKey).expect(200)).body as List;
    expect(native.items.map((i) => i.slug)).toEqual(builtInSlugs);
    const custom = (await get('/toolkits?type=custom', p.apiKey).expect(200)).body as List;
    expect(custom.items.map((i) => i.slug)).toEqual(['mine_only']);
    expect(custom.total_items).toBe(1);
    const project = (await get('/toolkits?managed_by=project', p.apiKey).expect(200)).body as List;
    expect(project.items.map((i) => [i.slug, i.type])).toEqual([['mine_only', 'custom']]);
    const all = (await get('/toolkits?type=all&limit=1000', p.apiKey).expect(200)).body as List;
    expect(all.total_items).toBe(catalogue.size + 1);
    const noneCustom = (await get('/toolkits?type=custom', fresh.apiKey).expect(200)).body as List;
    expect(noneCustom).toMatchObject({ items: [], total_items: 0, next_cursor: null });
  });
});

describe('bad input is a 4xx in the envelope', () => {
  const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8').toString('base64url');

  it('rejects invalid cursors with 400', async () => {
    const cursors = [
      'garbage!!',
      'not a cursor',
      b64('not json'),
      b64({ foo: 1 }),
      b64({ after: 5 }),
      b64([]),
      b64(null),
      b64({ after: 'x'.repeat(100) }),
      'x'.repeat(600),
    ];
    for (const c of cursors) {
      const e = expectEnvelope(await get(`/toolkits?cursor=${encodeURIComponent(c)}`), 400);
      expect(['Request_InvalidCursor', 'Request_ValidationError'], c).toContain(e.slug);
    }
    expectEnvelope(await get(`/toolkits?cursor=${b64({ foo: 1 })}`), 400, 'Request_InvalidCursor');
    expectEnvelope(await get(`/toolkits?cursor=${encodeURIComponent('garbage!!')}`), 400, 'Request_InvalidCursor');
  });

  it('accepts a well-formed cursor past the end as an empty last page', async () => {
    const body = (await get(`/toolkits?cursor=${b64({ after: 'zzzzzz' })}&limit=7`).expect(200)).body as List;
    expect(body.items).toEqual([]);
    expect(body.next_cursor).toBeNull();
  });

  it('rejects limits out of range or not a whole number', async () => {
    for (const limit of ['0', '-1', '100000', 'abc', '1.5', '']) {
      expectEnvelope(await get(`/toolkits?limit=${encodeURIComponent(limit)}`), 400, 'Request_ValidationError');
    }
    const max = (await get('/toolkits?limit=1000').expect(200)).body as List;
    expect(max.current_page).toBe(1);
  });

  it('rejects unicode, SQL-looking and over-long slugs', async () => {
    const slugs = [
      '%F0%9F%94%91',
      encodeURIComponent('gïthub'),
      encodeURIComponent("' OR 1=1 --"),
      encodeURIComponent("github' OR '1'='1"),
      encodeURIComponent('%'),
      encodeURIComponent('_'),
      encodeURIComponent('\\'),
      encodeURIComponent('git%hub'),
      'a'.repeat(64),
      'a'.repeat(200),
    ];
    for (const s of slugs) {
      const res = await get(`/toolkits/${s}`);
      const e = expectClientError(res, s);
      expect(e.slug, s).not.toBe('Internal_ServerError');
    }
    // The ones that are not slugs at all are validation errors.
    for (const s of ['%F0%9F%94%91', encodeURIComponent('gïthub'), encodeURIComponent("' OR 1=1 --"), encodeURIComponent('%'), 'a'.repeat(64)]) {
      expectEnvelope(await get(`/toolkits/${s}`), 400, 'Request_ValidationError');
    }
    // Same on the custom toolkit routes.
    for (const s of [encodeURIComponent("' OR 1=1 --"), '%F0%9F%94%91', 'a'.repeat(100)]) {
      expectClientError(await ctx.http.delete(`${V}/custom_toolkits/${s}`).set('x-api-key', ctx.apiKey), `DELETE ${s}`);
      expectClientError(await ctx.http.put(`${V}/custom_toolkits/${s}`).set('x-api-key', ctx.apiKey).send(customToolkit('acme_x')), `PUT ${s}`);
    }
  });

  it('answers a 4xx, never a 500, to a 300-character slug or an undecodable path', async () => {
    // Fastify rejects these before routing (FST_ERR_MAX_PARAM_LENGTH, FST_ERR_BAD_URL); they still
    // come in the envelope with x-request-id, and do not echo the path back.
    const cases = [
      ['get', `${V}/toolkits/${'a'.repeat(300)}`],
      ['delete', `${V}/custom_toolkits/${'a'.repeat(300)}`],
      ['get', `${V}/toolkits/%`],
      ['get', `${V}/toolkits/%E0%A4%A`],
    ] as const;
    for (const [method, path] of cases) {
      const res = await ctx.http[method](path).set('x-api-key', ctx.apiKey);
      expect(res.status, path).toBe(400);
      expectClientError(res, path);
      expect(res.text).not.toMatch(/stack|Internal|aaaaaaaaaa/);
    }
  });

  it('checks a slug before lower-casing it (no Unicode case folding into another slug)', async () => {
    const res = await get(`/toolkits/${encodeURIComponent('bitbuc\u212Aet')}`);
    expectClientError(res, 'kelvin sign');
    expect(res.status).toBe(400);
  });

  it('treats SQL metacharacters in search and category as plain text', async () => {
    for (const term of ["' OR 1=1 --", '%', '_', '\\', "%' --", '*']) {
      for (const param of ['search', 'category']) {
        const res = await get(`/toolkits?${param}=${encodeURIComponent(term)}&limit=1000`);
        expect(res.status, `${param}=${term}: ${JSON.stringify(res.body)}`).toBe(200);
        // Matched literally: `_` finds the slugs that contain one (`_21risk`), never "any character".
        const literal =
          param === 'search'
            ? builtInSlugs.filter((slug) => {
                const t = catalogue.get(slug)!;
                return [t.slug, t.name, t.description].some((x) => x.toLowerCase().includes(term));
              })
            : [];
        expect((res.body as List).items.map((i) => i.slug), `${param}=${term}`).toEqual(literal);
        expect((res.body as List).total_items).toBe(literal.length);
        if (term !== '_') expect(literal).toEqual([]);
      }
    }
  });

  it('rejects over-long and empty search and category', async () => {
    expectEnvelope(await get(`/toolkits?search=${'a'.repeat(500)}`), 400, 'Request_ValidationError');
    expectEnvelope(await get(`/toolkits?category=${'a'.repeat(500)}`), 400, 'Request_ValidationError');
    expectEnvelope(await get('/toolkits?search=%20%20'), 400, 'Request_ValidationError');
  });

  it('rejects unknown enum values for type and managed_by', async () => {
    expectEnvelope(await get('/toolkits?type=weird'), 400, 'Request_ValidationError');
    expectEnvelope(await get("/toolkits?managed_by=%27%20OR%201%3D1"), 400, 'Request_ValidationError');
  });
});

/** A small API_KEY toolkit in the catalogue format. */
function customToolkit(slug = 'acme_crm', overrides: Record<string, unknown> = {}) {
  return {
    slug,
    name: 'Acme CRM',
    description: 'A small CRM used in tests: contacts and deals.',
    logo: 'https://acme.example.com/logo.png',
    app_url: 'https://acme.example.com',
    docs_url: 'https://acme.example.com/docs/api',
    categories: [{ slug: 'crm', name: 'CRM' }],
    base_url: 'https://api.acme.example.com/v1',
    auth_schemes: [
      {
        mode: 'API_KEY',
        name: 'Acme API Key',
        fields: {
          auth_config_creation: [],
          connected_account_initiation: [
            {
              name: 'api_key',
              displayName: 'API Key',
              type: 'string',
              description: 'Your Acme API key.',
              required: true,
              is_secret: true,
            },
            {
              name: 'region',
              displayName: 'Region',
              type: 'string',
              description: 'Optional data region.',
              required: false,
              is_secret: false,
              pattern: '^[a-z]{2}$',
            },
          ],
        },
        request_auth: [{ in: 'header', name: 'X-Api-Key', value: '{{api_key}}' }],
      },
    ],
    ...overrides,
  };
}

describe('custom toolkits', () => {
  const post = (body: unknown, apiKey = ctx.apiKey) => ctx.http.post(`${V}/custom_toolkits`).set('x-api-key', apiKey).send(body as object);

  it('creates one that only its project can see', async () => {
    const created = await post(customToolkit('acme_crm'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({ slug: 'acme_crm', type: 'custom' });

    const d = (await get('/toolkits/acme_crm').expect(200)).body as Detail;
    expect(d).toMatchObject({ slug: 'acme_crm', name: 'Acme CRM', type: 'custom', base_url: 'https://api.acme.example.com/v1' });
    expectComposioDetail(d);
    const scheme = d.auth_config_details[0]!;
    expect(scheme.mode).toBe('API_KEY');
    expect(scheme.fields.connected_account_initiation.required).toEqual([
      { name: 'api_key', displayName: 'API Key', type: 'string', description: 'Your Acme API key.', required: true, is_secret: true },
    ]);
    expect(fieldNames(scheme.fields.connected_account_initiation.optional)).toEqual(['region']);
    expect((await get('/toolkits/ACME_CRM').expect(200)).body).toEqual(d);

    const list = (await get('/toolkits?type=custom').expect(200)).body as List;
    expect(list.items.map((i) => i.slug)).toContain('acme_crm');
    expect(list.items.every((i) => i.type === 'custom')).toBe(true);
    const all = (await get('/toolkits?limit=1000').expect(200)).body as List;
    expect(all.items.filter((i) => i.slug === 'acme_crm')).toHaveLength(1);

    const other = await ctx.newProject();
    expectEnvelope(await get('/toolkits/acme_crm', other.apiKey), 404, 'Toolkit_ResourceNotFound');
    const otherList = (await get('/toolkits?limit=1000', other.apiKey).expect(200)).body as List;
    expect(otherList.items.map((i) => i.slug)).not.toContain('acme_crm');
    expect(otherList.total_items).toBe(catalogue.size);
    const otherCustom = (await get('/toolkits?type=custom', other.apiKey).expect(200)).body as List;
    expect(otherCustom.items).toEqual([]);
  });

  it('lets another project use the same slug independently', async () => {
    const a = await ctx.newProject();
    const b = await ctx.newProject();
    await post(customToolkit('shared_slug', { name: 'A version' }), a.apiKey).expect(201);
    await post(customToolkit('shared_slug', { name: 'B version' }), b.apiKey).expect(201);
    expect(((await get('/toolkits/shared_slug', a.apiKey).expect(200)).body as Detail).name).toBe('A version');
    expect(((await get('/toolkits/shared_slug', b.apiKey).expect(200)).body as Detail).name).toBe('B version');
  });

  it('refuses a built-in slug with 409 and x-should-retry: false', async () => {
    for (const slug of ['github', 'slack']) {
      const res = await post(customToolkit(slug));
      expectEnvelope(res, 409, 'Toolkit_AlreadyExists');
      expect(res.headers['x-should-retry']).toBe('false');
    }
    // GitHub is still the built-in one.
    const d = (await get('/toolkits/github').expect(200)).body as Detail;
    expect(d).toMatchObject({ name: 'GitHub', type: 'native' });
  });

  it('refuses the same slug twice with 409', async () => {
    await post(customToolkit('twice_tk')).expect(201);
    const res = await post(customToolkit('twice_tk', { name: 'Second' }));
    expectEnvelope(res, 409, 'Toolkit_AlreadyExists');
    expect(res.headers['x-should-retry']).toBe('false');
    expect(((await get('/toolkits/twice_tk').expect(200)).body as Detail).name).toBe('Acme CRM');
  });

  describe('rejects invalid definitions with 400 and the problem listed', () => {
    function problems(res: Res) {
      const e = expectEnvelope(res, 400);
      expect(['Request_ValidationError', 'Toolkit_InvalidDefinition']).toContain(e.slug);
      expect(e.errors?.length, 'the problems are listed in errors').toBeGreaterThan(0);
      return e.errors!.join('\n');
    }
    const scheme = customToolkit().auth_schemes[0]!;

    it('missing name', async () => {
      const { name: _omit, ...body } = customToolkit('no_name');
      expect(problems(await post(body))).toMatch(/(^|\.)name: /m);
      expectEnvelope(await get('/toolkits/no_name'), 404, 'Toolkit_ResourceNotFound');
    });

    it('OAUTH2 without oauth2 details', async () => {
      const body = customToolkit('no_oauth', {
        auth_schemes: [{ ...scheme, mode: 'OAUTH2', name: 'Acme OAuth', request_auth: [{ in: 'header', name: 'Authorization', value: 'Bearer {{access_token}}' }] }],
      });
      expect(problems(await post(body))).toMatch(/oauth2 details/);
      expectEnvelope(await get('/toolkits/no_oauth'), 404, 'Toolkit_ResourceNotFound');
    });

    it('a URL template over a field without a pattern', async () => {
      const body = customToolkit('no_pattern', {
        base_url: 'https://{{subdomain}}.example.com',
        auth_schemes: [
          {
            ...scheme,
            fields: {
              auth_config_creation: [],
              connected_account_initiation: [
                ...scheme.fields.connected_account_initiation,
                { name: 'subdomain', displayName: 'Subdomain', type: 'string', description: 'Your subdomain.', required: true, is_secret: false },
              ],
            },
          },
        ],
      });
      expect(problems(await post(body))).toMatch(/subdomain is used in a URL and needs a pattern/);
      expectEnvelope(await get('/toolkits/no_pattern'), 404, 'Toolkit_ResourceNotFound');
    });

    it('a field pattern that is not a regular expression (it would fail when a user connects)', async () => {
      const body = customToolkit('bad_regex');
      const scheme = (body.auth_schemes as { fields: { connected_account_initiation: Record<string, unknown>[] } }[])[0]!;
      scheme.fields.connected_account_initiation = [
        { name: 'region', displayName: 'Region', type: 'string', description: 'Region.', required: false, is_secret: false, pattern: '^([a-z' },
      ];
      expect(problems(await post(body))).toMatch(/not a valid regular expression/);
    });

    it('a URL template naming an undeclared field', async () => {
      const body = customToolkit('undeclared', { base_url: 'https://{{tenant}}.example.com/api' });
      expect(problems(await post(body))).toMatch(/\{\{tenant\}\} is not a field/);
    });

    it('wrong slug, unknown keys and non-http URLs', async () => {
      expect(problems(await post(customToolkit('Bad Slug!')))).toMatch(/slug/);
      expect(problems(await post({ ...customToolkit('extra_key'), extra: true }))).toMatch(/extra/);
      expect(problems(await post(customToolkit('js_logo', { logo: 'javascript:alert(1)' })))).toMatch(/logo/);
    });
  });

  it('replaces one with PUT, only under a matching slug', async () => {
    await post(customToolkit('put_tk')).expect(201);
    const res = await ctx.http
      .put(`${V}/custom_toolkits/put_tk`)
      .set('x-api-key', ctx.apiKey)
      .send(customToolkit('put_tk', { name: 'Acme CRM v2' }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ slug: 'put_tk', type: 'custom' });
    expect(((await get('/toolkits/put_tk').expect(200)).body as Detail).name).toBe('Acme CRM v2');

    const mismatch = await ctx.http.put(`${V}/custom_toolkits/put_tk`).set('x-api-key', ctx.apiKey).send(customToolkit('other_tk'));
    expectEnvelope(mismatch, 400, 'Toolkit_InvalidDefinition');
    expect(((await get('/toolkits/put_tk').expect(200)).body as Detail).name).toBe('Acme CRM v2');
    expectEnvelope(await get('/toolkits/other_tk'), 404, 'Toolkit_ResourceNotFound');

    const invalid = await ctx.http
      .put(`${V}/custom_toolkits/put_tk`)
      .set('x-api-key', ctx.apiKey)
      .send(customToolkit('put_tk', { base_url: 'https://{{nope}}.example.com' }));
    expectEnvelope(invalid, 400);
    expect(((await get('/toolkits/put_tk').expect(200)).body as Detail).base_url).toBe('https://api.acme.example.com/v1');
  });

  it('answers 404 to PUT and DELETE of a toolkit that is not the project\'s own', async () => {
    await post(customToolkit('owned_tk', { name: 'Original' })).expect(201);
    const other = await ctx.newProject();
    const put = await ctx.http
      .put(`${V}/custom_toolkits/owned_tk`)
      .set('x-api-key', other.apiKey)
      .send(customToolkit('owned_tk', { name: 'Hijacked' }));
    expectEnvelope(put, 404, 'Toolkit_ResourceNotFound');
    expectEnvelope(await ctx.http.delete(`${V}/custom_toolkits/owned_tk`).set('x-api-key', other.apiKey), 404, 'Toolkit_ResourceNotFound');
    expect(((await get('/toolkits/owned_tk').expect(200)).body as Detail).name).toBe('Original');
    // Built-ins are not anyone's custom toolkit.
    expectEnvelope(await ctx.http.delete(`${V}/custom_toolkits/github`).set('x-api-key', ctx.apiKey), 404, 'Toolkit_ResourceNotFound');
    expectEnvelope(
      await ctx.http.put(`${V}/custom_toolkits/github`).set('x-api-key', ctx.apiKey).send(customToolkit('github')),
      404,
      'Toolkit_ResourceNotFound',
    );
    await get('/toolkits/github').expect(200);
    // And PUT does not create.
    expectEnvelope(
      await ctx.http.put(`${V}/custom_toolkits/never_made`).set('x-api-key', ctx.apiKey).send(customToolkit('never_made')),
      404,
      'Toolkit_ResourceNotFound',
    );
    expectEnvelope(await get('/toolkits/never_made'), 404, 'Toolkit_ResourceNotFound');
  });

  it('deletes one: then GET is 404, and the slug can be used again', async () => {
    await post(customToolkit('del_tk')).expect(201);
    await get('/toolkits/del_tk').expect(200);
    const res = await ctx.http.delete(`${V}/custom_toolkits/del_tk`).set('x-api-key', ctx.apiKey);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expectEnvelope(await get('/toolkits/del_tk'), 404, 'Toolkit_ResourceNotFound');
    const list = (await get('/toolkits?type=custom').expect(200)).body as List;
    expect(list.items.map((i) => i.slug)).not.toContain('del_tk');
    expectEnvelope(await ctx.http.delete(`${V}/custom_toolkits/del_tk`).set('x-api-key', ctx.apiKey), 404, 'Toolkit_ResourceNotFound');
    await post(customToolkit('del_tk')).expect(201);
  });

  it('works the same under /api/v3', async () => {
    const v3 = (p: string) => `/api/v3${p}`;
    await ctx.http.post(v3('/custom_toolkits')).set('x-api-key', ctx.apiKey).send(customToolkit('v3_tk')).expect(201);
    await get('/toolkits/v3_tk').expect(200);
    await ctx.http.delete(v3('/custom_toolkits/v3_tk')).set('x-api-key', ctx.apiKey).expect(200);
    expectEnvelope(await get('/toolkits/v3_tk'), 404, 'Toolkit_ResourceNotFound');
  });
});
