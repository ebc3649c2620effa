/** Connect Link over plain HTTP: the API, the hosted page's form, CSRF, single use, expiry. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

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
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.text).toContain('Connect Linear');
    expect(page.text).toMatch(/<input id="f_api_key" name="api_key" type="password"/);
    expect(page.text).not.toMatch(/<script/);
    const { field, cookie } = csrfOf(page);

    // Without the CSRF cookie: refused, nothing consumed.
    await ctx.http.post(pathOf(res.body.redirect_url)).type('form').send({ csrf: field, api_key: 'x' }).expect(403);
    // Missing required field: the page again, with a message.
    const bad = await ctx.http.post(pathOf(res.body.redirect_url)).set('cookie', cookie).type('form').send({ csrf: field, api_key: '' }).expect(400);
    expect(bad.text).toContain('This field is required.');
    expect(bad.text).toMatch(/aria-invalid="true"/);
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
    expect(ctx.logs()).not.toContain(res.body.link_token);
    expect(ctx.logs()).not.toContain('lin_api_MELISSA_SECRET');
  });

  it("names the link's own destinations in form-action (the redirect after submit is governed by it)", async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'csp', callback_url: 'http://127.0.0.1:5555/cb' }).expect(201);
    const page = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    const formAction = /form-action ([^;]+)/.exec(page.headers['content-security-policy']!)![1]!;
    expect(formAction.split(' ')).toEqual(expect.arrayContaining(["'self'", 'https:', 'http://127.0.0.1:5555']));
  });

  it('two tabs of the same link share one CSRF value, so either can submit', async () => {
    const res = await link({ auth_config_id: linearCfg, user_id: 'tabs' }).expect(201);
    const first = await ctx.http.get(pathOf(res.body.redirect_url)).expect(200);
    const { field, cookie } = csrfOf(first);
    const second = await ctx.http.get(pathOf(res.body.redirect_url)).set('cookie', cookie).expect(200);
    expect(csrfOf(second, cookie).field).toBe(field);
    await ctx.http.post(pathOf(res.body.redirect_url)).set('cookie', cookie).type('form').send({ csrf: field, api_key: 'lin_api_tabs' }).expect(200);
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
    const acc = await ctx.http.get(`/api/v3.1/connected_accounts/${res.body.connected_account_id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(acc.body).toMatchObject({ status: 'FAILED', status_reason: 'Connection initiation did not complete within 10 minutes' });

    const unknown = await ctx.http.get(`/link/lt_${'A'.repeat(40)}`).expect(404);
    expect(unknown.text).toContain('not valid');
    await ctx.http.get('/link/%27%20OR%201%3D1').expect(404);
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
