/** Connect Link over plain HTTP: the API, the hosted page's form, CSRF, single use, expiry. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { linearConfig } from './support/factories.js';

let ctx: TestContext;
let linearCfg: string;
let zendeskCfg: string;
beforeAll(async () => {
  ctx = await createTestContext();
  const cfg = (slug: string) =>
    ctx.http
      .post('/api/v3.1/auth_configs')
      .set('x-api-key', ctx.apiKey)
      .send({ toolkit: { slug }, auth_config: { type: 'use_custom_auth', authScheme: slug === 'zendesk' ? 'BASIC' : 'API_KEY', credentials: {} } })
      .expect(201);
  linearCfg = (await cfg('linear')).body.auth_config.id;
  zendeskCfg = (await cfg('zendesk')).body.auth_config.id;
});
afterAll(() => ctx.close());

/**
 * The policy every /link answer carries: one CSP shape (nothing remote, no scripts, no wildcard
 * destinations), no framing (X-Frame-Options agreeing), no referrer, no caching, and HTML.
 */
function expectPagePolicy(res: { headers: Record<string, string | undefined> }, o: { formAction?: string[]; images?: string[] } = {}) {
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  const csp = Object.fromEntries(res.headers['content-security-policy']!.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  expect(csp).toEqual({
    'default-src': ["'none'"],
    'style-src': ["'unsafe-inline'"],
    'img-src': o.images ?? ["'none'"],
    'form-action': o.formAction ?? ["'none'"],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
  });
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cache-control']).toBe('no-store');
}

const link = (body: object) => ctx.http.post('/api/v3.1/connected_accounts/link').set('x-api-key', ctx.apiKey).send(body);
const pathOf = (url: string) => new URL(url).pathname;
const csrfOf = (res: { text: string; headers: Record<string, string | string[] | undefined> }, cookie?: string) => {
  const field = /name="csrf" value="([^"]+)"/.exec(res.text)![1]!;
  // The cookie is set once per link session; later pages of the same link reuse it.
  const set = ([res.headers['set-cookie']].flat().filter(Boolean) as string[]).find((c) => c.startsWith('lk_csrf_ls_'));
  return { field, cookie: set ? set.split(';')[0]! : cookie! };
};

describe('POST /connected_accounts/link', () => {
  it('creates the account at once and answers the link', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'user-jessica', callback_url: 'https://app.example/cb?x=1' }).expect(201);
    expect(res.body).toEqual({
      link_token: expect.stringMatching(/^lt_/),
      redirect_url: expect.stringContaining(`/link/${res.body.link_token}`),
      expires_at: expect.any(String),
      connected_account_id: expect.stringMatching(/^ca_/),
      experimental: { account_type: 'PRIVATE' },
    });
    expect(new Date(res.body.expires_at).getTime() - Date.now()).toBeGreaterThan(9 * 60_000);
    const acc = await ctx.http.get(`/api/v3.1/connected_accounts/${res.body.connected_account_id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(acc.body).toMatchObject({ status: 'INITIALIZING', user_id: 'user-jessica' });
    // Only an HMAC of the token is stored.
    const dump = JSON.stringify(await ctx.db.linkSession.findMany());
    expect(dump).not.toContain(res.body.link_token);
  });

  it('refuses bad pre-filled data and unknown configs', async () => {
    await link({ auth_config_id: zendeskCfg, user_id: 'u', connection_data: { subdomain: 'evil.com/x' } }).expect(400);
    await link({ auth_config_id: 'ac_doesnotexist1', user_id: 'u' }).expect(404);
    await link({ user_id: 'u' }).expect(400);
  });
});

describe('the hosted page', () => {
  it('collects an API key: CSRF, field errors that keep values, success redirect, single use', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'user-melissa', callback_url: 'https://app.example/cb?x=1' }).expect(201);
    const page = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    expectPagePolicy(page, { formAction: [res.body.redirect_url, 'https://app.example'] });
    expect(page.text).toContain('Connect Linear');
    expect(page.text).toMatch(/<input id="f_api_key" name="api_key" type="password"/);
    expect(page.text).not.toMatch(/<script/);
    const { field, cookie } = csrfOf(page);

    // Without the CSRF cookie: refused, nothing consumed.
    const refused = await ctx.http.post(pathOf(res.body.redirect_url)).type('form').send({ csrf: field, api_key: 'x' }).expect(403);
    expectPagePolicy(refused);
    expect(refused.text).toContain('Reload the page');
    // Missing required field: the page again, with a message.
    const bad = await ctx.http.post(pathOf(res.body.redirect_url)).set('cookie', cookie).type('form').send({ csrf: field, api_key: '' }).expect(400);
    expect(bad.text).toContain('This field is required.');
    expect(bad.text).toMatch(/aria-invalid="true"/);
    expectPagePolicy(bad, { formAction: [res.body.redirect_url, 'https://app.example'] });
    const again = csrfOf(bad, cookie);
    expect(again.field).toBe(field); // the same session keeps its CSRF value (other tabs keep working)
    const ok = await ctx.http
      .post(pathOf(res.body.redirect_url))
      .set('cookie', again.cookie)
      .type('form')
      .send({ csrf: again.field, api_key: 'lin_api_MELISSA_SECRET' })
      .expect(303);
    const to = new URL(ok.headers.location!);
    expect(to.origin + to.pathname).toBe('https://app.example/cb');
    expect(Object.fromEntries(to.searchParams)).toMatchObject({ x: '1', status: 'success', connected_account_id: res.body.connected_account_id });
    const acc = await ctx.http.get(`/api/v3.1/connected_accounts/${res.body.connected_account_id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(acc.body.status).toBe('ACTIVE');
    expect(acc.body.state.val.api_key).toBe('lin_api_MELISSA_SECRET');

    const reused = await ctx.http.get(pathOf(res.body.redirect_url)).expect(410);
    expect(reused.text).toContain('already used');
    expectPagePolicy(reused);
    expect(ctx.logs()).not.toContain(res.body.link_token);
    expect(ctx.logs()).not.toContain('lin_api_MELISSA_SECRET');
  });

  it("names exactly the link's destinations in form-action: its own URL and the app's callback", async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'csp', callback_url: 'http://127.0.0.1:5555/cb' }).expect(201);
    const page = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    expectPagePolicy(page, { formAction: [res.body.redirect_url, 'http://127.0.0.1:5555'] });
  });

  it('two tabs of the same link share one CSRF value, so either can submit', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'tabs' }).expect(201);
    const first = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    const { field, cookie } = csrfOf(first);
    const second = await ctx.http.get(pathOf(res.body.redirect_url)).set('cookie', cookie).expect(200);
    expect(csrfOf(second, cookie).field).toBe(field);
    const done = await ctx.http.post(pathOf(res.body.redirect_url)).set('cookie', cookie).type('form').send({ csrf: field, api_key: 'lin_api_tabs' }).expect(200);
    expect(done.text).toContain('account is connected');
    expectPagePolicy(done); // the success page
  });

  it('never writes a typed secret back, but keeps the other values', async () => {
    const res = await link({ auth_config_id: zendeskCfg, user_id: 'u-z' }).expect(201);
    const page = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    const { field, cookie } = csrfOf(page);
    const bad = await ctx.http
      .post(pathOf(res.body.redirect_url))
      .set('cookie', cookie)
      .type('form')
      .send({ csrf: field, subdomain: 'not a subdomain!', username: 'agent@example.com', password: 'TOPSECRET-pw' })
      .expect(400);
    expect(bad.text).toContain('This value does not have the expected format.');
    expect(bad.text).toContain('value="agent@example.com"');
    expect(bad.text).not.toContain('TOPSECRET-pw');
  });

  it('an expired link shows its page and leaves the account FAILED; an unknown one reveals nothing', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'late' }).expect(201);
    // Ten minutes (the default lifetime) have passed since the link was made.
    await ctx.db.linkSession.updateMany({ where: { accountId: res.body.connected_account_id }, data: { createdAt: new Date(Date.now() - 601_000), expiresAt: new Date(Date.now() - 1000) } });
    const page = await ctx.http.get(pathOf(res.body.redirect_url)).expect(410);
    expect(page.text).toContain('expired');
    expectPagePolicy(page);
    const acc = await ctx.http.get(`/api/v3.1/connected_accounts/${res.body.connected_account_id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(acc.body).toMatchObject({ status: 'FAILED', status_reason: 'Connection initiation did not complete within 10 minutes' });

    const unknown = await ctx.http.get(`/link/lt_${'A'.repeat(40)}`).expect(404);
    expect(unknown.text).toContain('not valid');
    expectPagePolicy(unknown);
    expectPagePolicy(await ctx.http.get('/link/%27%20OR%201%3D1').expect(404));
  });

  it('answers every other error under /link with a page under the same policy, never JSON', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'errors' }).expect(201);
    const answers = [
      await ctx.http.get('/link/lt_x/extra').expect(404), // no such route
      await ctx.http.put(pathOf(res.body.redirect_url)).expect(404),
      await ctx.http.get(`/link/${'x'.repeat(101)}`).expect(400), // token longer than any token
      await ctx.http.post(pathOf(res.body.redirect_url)).type('form').send({ [`f${'x'.repeat(120)}`]: '1' }).expect(400), // a field name too long
      await ctx.http.post(pathOf(res.body.redirect_url)).type('form').send(`api_key=${'x'.repeat(70 * 1024)}`).expect(413),
      await ctx.http.post(pathOf(res.body.redirect_url)).set('content-type', 'text/plain').send('api_key=x').expect(415),
    ];
    for (const page of answers) {
      expectPagePolicy(page);
      expect(page.text).toMatch(/^<!doctype html>/);
      expect(page.text).not.toContain('"error"');
    }
    // None of that used the link up.
    await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
  });
});

/** An OAuth2 custom toolkit whose authorize URL takes a user field (a tenant host or an optional region). */
function templatedToolkit(slug: string, authorizationUrl: string, field: { name: string; required: boolean }) {
  const f = (name: string, secret: boolean) => ({ name, displayName: name, type: 'string', description: `The ${name}.`, required: true, is_secret: secret });
  return {
    slug,
    name: `${slug[0]!.toUpperCase()}${slug.slice(1)}`,
    description: 'A provider whose authorize URL depends on the user.',
    logo: 'https://idp.example/logo.png',
    app_url: 'https://idp.example',
    docs_url: 'https://idp.example/docs',
    categories: [{ slug: 'testing', name: 'Testing' }],
    base_url: 'https://api.idp.example',
    auth_schemes: [
      {
        mode: 'OAUTH2',
        name: 'OAuth',
        fields: {
          auth_config_creation: [f('client_id', false), f('client_secret', true)],
          connected_account_initiation: [{ ...f(field.name, false), required: field.required, pattern: '^[a-z0-9-]{1,30}$' }],
        },
        oauth2: { authorization_url: authorizationUrl, token_url: 'https://idp.example/token', default_scopes: ['read'] },
      },
    ],
  };
}

describe('the hosted page: names, hints and OAuth destinations', () => {
  const oauthConfig = async (toolkit: ReturnType<typeof templatedToolkit>) => {
    await ctx.http.post('/api/v3.1/custom_toolkits').set('x-api-key', ctx.apiKey).send(toolkit).expect(201);
    const cfg = await ctx.http
      .post('/api/v3.1/auth_configs')
      .set('x-api-key', ctx.apiKey)
      .send({ toolkit: { slug: toolkit.slug }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: { client_id: 'cid', client_secret: 'csecret' } } })
      .expect(201);
    return cfg.body.auth_config.id as string;
  };
  const submitForm = async (url: string, values: Record<string, string>) => {
    const page = await ctx.http.get(pathOf(url)).expect(200);
    const { field, cookie } = csrfOf(page);
    return { cookie, res: await ctx.http.post(pathOf(url)).set('cookie', cookie).type('form').send({ csrf: field, ...values }) };
  };

  it("names the operator's product: the brand name, else the project name, never the placeholder 'default'", async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'names' }).expect(201);
    const named = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    expect(named.text).toContain('test-project asks to connect your Linear account.');
    await ctx.app.services.projects.setBranding(ctx.projectId, { name: 'Acme CRM' });
    const branded = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    expect(branded.text).toContain('Acme CRM asks to connect your Linear account.');
    expect(branded.text).toContain('Acme CRM never sees it.');
    await ctx.app.services.projects.setBranding(ctx.projectId, { name: '' });

    const other = await ctx.newProject('default');
    const cfg = await linearConfig(ctx, other.apiKey);
    const res2 = await ctx.http.post('/api/v3.1/connected_accounts/link').set('x-api-key', other.apiKey).send({ auth_config_id: cfg, user_id: 'u' }).expect(201);
    const generic = await ctx.http.get(pathOf(res2.body.redirect_url)).expect(200);
    expect(generic.text).toContain('The app that sent you here asks to connect your Linear account.');
    expect(generic.text).toContain('the app never sees it.');
    expect(generic.text).not.toMatch(/\bdefault\b/);
  });

  it('shows a letter for each logo (nothing remote) and the toolkit\'s "Where do I find my key?" link', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'hint' }).expect(201);
    const page = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    expect(page.text).not.toMatch(/<img|https:\/\/linear\.app\/favicon/);
    expect(page.text).toMatch(/<span class="mark"[^>]*aria-hidden="true">L<\/span>/);
    const hint = /<a href="([^"]+)"([^>]*)>Where do I find my key\?/.exec(page.text)!;
    expect(hint[1]).toBe('https://linear.app/settings/account/security');
    expect(hint[2]).toContain('target="_blank"');
    expect(hint[2]).toContain('rel="noopener noreferrer"');
  });

  it("OAuth2 whose provider host comes from a field: the page asks, then names that exact host before leaving", async () => {
    const cfg = await oauthConfig(templatedToolkit('tenantco', 'https://{{tenant}}.idp.example/authorize', { name: 'tenant', required: true }));
    const res = await link({ auth_config_id: cfg, user_id: 'tenant', callback_url: 'https://app.example/cb' }).expect(201);
    const first = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    // The provider's host is unknown yet: the form may only post to itself and the app.
    expectPagePolicy(first, { formAction: [res.body.redirect_url, 'https://app.example'] });
    const { res: confirm, cookie } = await submitForm(res.body.redirect_url, { tenant: 'acme' });
    expect(confirm.status).toBe(200);
    expectPagePolicy(confirm, { formAction: [res.body.redirect_url, 'https://app.example', 'https://acme.idp.example'] });
    expect(confirm.text).not.toMatch(/name="tenant"/);
    expect(confirm.text).toContain("You will sign in on Tenantco's own site, at acme.idp.example.");
    const go = await ctx.http.post(pathOf(res.body.redirect_url)).set('cookie', cookie).type('form').send({ csrf: csrfOf(confirm, cookie).field }).expect(303);
    expect(new URL(go.headers.location!).origin).toBe('https://acme.idp.example');
  });

  it('an unexpected client error while submitting (an OAuth URL needs a value the user left out) is a page with its status', async () => {
    const cfg = await oauthConfig(templatedToolkit('regionco', 'https://login.idp.example/{{region}}/authorize', { name: 'region', required: false }));
    const res = await link({ auth_config_id: cfg, user_id: 'region' }).expect(201);
    const { res: page } = await submitForm(res.body.redirect_url, { region: '' });
    expect(page.status).toBe(400);
    expectPagePolicy(page);
    expect(page.text).toContain('The provider&#39;s OAuth URLs need region');
    expect(page.text).not.toContain('"error"');
    // Nothing was used up: the link still opens.
    await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
  });
});

describe('the hosted page with LINK_FRAME_ANCESTORS and LINK_ALLOW_REMOTE_LOGOS', () => {
  let framed: TestContext;
  beforeAll(async () => {
    framed = await createTestContext({ config: { LINK_FRAME_ANCESTORS: 'https://app.example.com', LINK_ALLOW_REMOTE_LOGOS: true } });
  });
  afterAll(() => framed?.close());

  it('lets the named origin frame every page, and names exactly the shown logos in img-src', async () => {
    await framed.app.services.projects.setBranding(framed.projectId, { name: 'Acme CRM', logoUrl: 'https://cdn.acme.example/logo.png' });
    const cfg = await linearConfig(framed);
    const res = await framed.http.post('/api/v3.1/connected_accounts/link').set('x-api-key', framed.apiKey).send({ auth_config_id: cfg, user_id: 'u' }).expect(201);
    const page = await framed.http.get(pathOf(res.body.redirect_url)).expect(200);
    const csp = page.headers['content-security-policy']!;
    expect(csp).toContain('frame-ancestors https://app.example.com;');
    expect(csp).toContain('img-src https://cdn.acme.example https://linear.app;');
    expect(page.headers['x-frame-options']).toBeUndefined(); // it cannot name an origin; the CSP decides
    expect(page.text).toContain('<img src="https://linear.app/favicon.ico" alt="">');
    expect(page.text).toContain('<img src="https://cdn.acme.example/logo.png" alt="">');
    const unknown = await framed.http.get(`/link/lt_${'B'.repeat(40)}`).expect(404);
    expect(unknown.headers['content-security-policy']).toContain('frame-ancestors https://app.example.com;');
    expect(unknown.headers['content-security-policy']).toContain("img-src 'none';");
    expect(unknown.headers['x-frame-options']).toBeUndefined();
  });

  it("an expired link's reason states the link's real lifetime (60 s), on a visit and from the background job", async () => {
    await ctx.app.services.projects.setLinkTtl(ctx.projectId, 60);
    try {
      const visited = await link({ auth_config_id: linearCfg, user_id: 'short-visit' }).expect(201);
      const swept = await link({ auth_config_id: linearCfg, user_id: 'short-swept' }).expect(201);
      const used = await link({ auth_config_id: linearCfg, user_id: 'short-used' }).expect(201);
      for (const r of [visited, swept, used]) {
        const s = await ctx.db.linkSession.findFirstOrThrow({ where: { accountId: r.body.connected_account_id } });
        expect(s.expiresAt.getTime() - s.createdAt.getTime()).toBe(60_000);
      }
      // The third is completed before the others lapse.
      const page = await ctx.http.get(pathOf(used.body.redirect_url)).expect(200);
      const { field, cookie } = csrfOf(page);
      await ctx.http.post(pathOf(used.body.redirect_url)).set('cookie', cookie).type('form').send({ csrf: field, api_key: 'lin_api_used' }).expect(200);
      // Sixty-one seconds later.
      for (const r of [visited, swept, used]) {
        const s = await ctx.db.linkSession.findFirstOrThrow({ where: { accountId: r.body.connected_account_id } });
        await ctx.db.linkSession.update({ where: { id: s.id }, data: { createdAt: new Date(s.createdAt.getTime() - 61_000), expiresAt: new Date(s.expiresAt.getTime() - 61_000) } });
      }
      const reason = 'Connection initiation did not complete within 60 seconds';
      await ctx.http.get(pathOf(visited.body.redirect_url)).expect(410);
      const account = (id: string) => ctx.http.get(`/api/v3.1/connected_accounts/${id}`).set('x-api-key', ctx.apiKey).expect(200);
      expect((await account(visited.body.connected_account_id)).body).toMatchObject({ status: 'FAILED', status_reason: reason });
      expect((await account(swept.body.connected_account_id)).body).toMatchObject({ status: 'INITIALIZING' });
      expect(await ctx.app.services.connectLinks.expireUnused()).toBeGreaterThanOrEqual(1);
      expect((await account(swept.body.connected_account_id)).body).toMatchObject({ status: 'FAILED', status_reason: reason });
      // A completed account is not touched by the job.
      expect((await account(used.body.connected_account_id)).body).toMatchObject({ status: 'ACTIVE', status_reason: null });
      expect(await ctx.app.services.connectLinks.expireUnused()).toBe(0);
    } finally {
      await ctx.app.services.projects.setLinkTtl(ctx.projectId, 600);
    }
  });
});
