/**
 * The operator console over HTTP (the browser test drives the same pages in Chromium): off unless
 * enabled; sign-in by password and by one-time link; the session cookie's attributes; CSRF on
 * every form; idle and absolute expiry; sign-out; the sign-in rate limit; error pages; and actions
 * reaching the modules' services (visible through the API) without ever showing a stored secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { type ConsoleSession, consoleAuthOf, cookieOf, csrfOf, pair, signIn } from './support/console.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';
import { startReceiver } from './support/webhook-receiver.js';

const EMAIL = 'ops@example.com';
const PASSWORD = 'a long operator password';

let ctx: TestContext;
let session: ConsoleSession;
beforeAll(async () => {
  // Many sign-ins in one file: the limit itself is tested on its own server below.
  ctx = await createTestContext({ config: { CONSOLE_ENABLED: true, CONSOLE_SIGN_IN_ATTEMPTS: 1000, WEBHOOKS_ALLOW_PRIVATE_URLS: true, WEBHOOK_TIMEOUT_MS: 1000 } });
  await consoleAuthOf(ctx).addUser(EMAIL, PASSWORD);
  session = await signIn(ctx.http, EMAIL, PASSWORD);
});
afterAll(() => ctx?.close());

const get = (path: string, s: ConsoleSession = session) => ctx.http.get(path).set('cookie', s.cookie);
const post = (path: string, form: Record<string, string> = {}, s: ConsoleSession = session) =>
  ctx.http.post(path).set('cookie', s.cookie).type('form').send({ csrf: s.csrf, ...form });
const count = async (sql: string) => Number((await ctx.pool.query<{ n: string }>(sql)).rows[0]!.n);

describe('the console is off unless enabled', () => {
  it('answers 404 for /console on a default configuration', async () => {
    const off = await createTestContext();
    try {
      const res = await off.http.get('/console/sign-in');
      expect(res.status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('signing in', () => {
  it('sends a visitor without a session to the sign-in page, remembering where they were going', async () => {
    const res = await ctx.http.get('/console/projects?page=1');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/console/sign-in?next=${encodeURIComponent('/console/projects?page=1')}`);
  });

  it('a correct password starts a session in an HttpOnly, SameSite=Strict cookie scoped to /console (not Secure over http)', async () => {
    const form = await ctx.http.get('/console/sign-in').expect(200);
    const res = await ctx.http
      .post('/console/sign-in?next=/console/health')
      .set('cookie', pair(cookieOf(form, 'lk_console_signin')))
      .type('form')
      .send({ email: 'OPS@example.com', password: PASSWORD, csrf: csrfOf(form.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/console/health');
    const cookie = cookieOf(res, 'lk_console')!;
    expect(cookie).toMatch(/^lk_console=cst_[0-9A-Za-z]{40}; Path=\/console; HttpOnly; SameSite=Strict$/);
  });

  it('a wrong password or an unknown address is a 401 that says only that, and no session', async () => {
    for (const [email, password] of [[EMAIL, 'not the password at all'], ['nobody@example.com', PASSWORD]]) {
      const form = await ctx.http.get('/console/sign-in').expect(200);
      const res = await ctx.http.post('/console/sign-in').set('cookie', pair(cookieOf(form, 'lk_console_signin'))).type('form').send({ email, password, csrf: csrfOf(form.text) });
      expect(res.status).toBe(401);
      expect(res.text).toContain('The email or the password is not right.');
      expect(cookieOf(res, 'lk_console')).toBeUndefined();
    }
  });

  it('refuses a sign-in form without its CSRF cookie (login CSRF)', async () => {
    const form = await ctx.http.get('/console/sign-in').expect(200);
    const res = await ctx.http.post('/console/sign-in').type('form').send({ email: EMAIL, password: PASSWORD, csrf: csrfOf(form.text) });
    expect(res.status).toBe(403);
    expect(cookieOf(res, 'lk_console')).toBeUndefined();
  });

  it('never redirects outside the console after sign-in', async () => {
    for (const next of ['//evil.example/console', 'https://evil.example/console', '/console/../api/v3.1/toolkits', '/console/%2e%2e/api', '/consolex']) {
      const form = await ctx.http.get('/console/sign-in').expect(200);
      const res = await ctx.http
        .post(`/console/sign-in?next=${encodeURIComponent(next)}`)
        .set('cookie', pair(cookieOf(form, 'lk_console_signin')))
        .type('form')
        .send({ email: EMAIL, password: PASSWORD, csrf: csrfOf(form.text) });
      expect(res.status).toBe(303);
      expect(res.headers.location, next).toBe('/console');
    }
  });

  it('a one-time link signs in once: opening it uses nothing up, the POST does, a second POST is refused', async () => {
    const auth = consoleAuthOf(ctx);
    await auth.addUser('link-only@example.com');
    const { url } = await auth.signInLink('link-only@example.com');
    const path = new URL(url).pathname;
    expect(path).toMatch(/^\/console\/sign-in\/csi_[0-9A-Za-z]{40}$/);
    const first = await ctx.http.get(path).expect(200);
    await ctx.http.get(path).expect(200); // a mail scanner's fetch does not use it up
    const pre = pair(cookieOf(first, 'lk_console_signin'));
    const res = await ctx.http.post(path).set('cookie', pre).type('form').send({ csrf: csrfOf(first.text) });
    expect(res.status).toBe(303);
    const cookie = pair(cookieOf(res, 'lk_console'));
    const page = await ctx.http.get('/console/projects').set('cookie', cookie).expect(200);
    expect(page.text).toContain('link-only@example.com');
    const again = await ctx.http.post(path).set('cookie', pre).type('form').send({ csrf: csrfOf(first.text) });
    expect(again.status).toBe(410);
    expect((await ctx.http.get(path)).status).toBe(410);
    // Neither the token nor a password reaches the logs.
    expect(ctx.logs()).not.toContain(path.split('/').pop());
    expect(ctx.logs()).toContain('/console/sign-in/[redacted]');
    expect(ctx.logs()).not.toContain(PASSWORD);
  });

  it('an expired link, or one for a disabled operator, is refused', async () => {
    const auth = consoleAuthOf(ctx);
    await auth.addUser('late@example.com');
    const { url } = await auth.signInLink('late@example.com');
    await ctx.pool.query("UPDATE console_sign_in_links SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM console_users WHERE email = 'late@example.com')");
    expect((await ctx.http.get(new URL(url).pathname)).status).toBe(410);
    const fresh = await auth.signInLink('late@example.com');
    await auth.disableUser('late@example.com');
    expect((await ctx.http.get(new URL(fresh.url).pathname)).status).toBe(410);
  });
});

describe('sessions', () => {
  it('end after the idle period, at the absolute lifetime, on sign-out, and when the operator is disabled', async () => {
    const auth = consoleAuthOf(ctx);
    await auth.addUser('sessions@example.com', PASSWORD);
    const expectSignedOut = async (s: ConsoleSession) => {
      const res = await get('/console/projects', s);
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/^\/console\/sign-in/);
    };
    const latest = "(SELECT id FROM console_sessions WHERE user_id = (SELECT id FROM console_users WHERE email = 'sessions@example.com') ORDER BY created_at DESC LIMIT 1)";

    const idle = await signIn(ctx.http, 'sessions@example.com', PASSWORD);
    await ctx.pool.query(`UPDATE console_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id = ${latest}`);
    await get('/console/projects', idle).expect(200); // still within 30 idle minutes, and this request counts as activity
    await ctx.pool.query(`UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = ${latest}`);
    await expectSignedOut(idle);

    const old = await signIn(ctx.http, 'sessions@example.com', PASSWORD);
    await ctx.pool.query(`UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE id = ${latest}`);
    await expectSignedOut(old);

    const leaving = await signIn(ctx.http, 'sessions@example.com', PASSWORD);
    const out = await post('/console/sign-out', {}, leaving);
    expect(out.status).toBe(303);
    expect(cookieOf(out, 'lk_console')).toMatch(/Max-Age=0/);
    await expectSignedOut(leaving);

    // Signing in again removes the session that ended two days ago, and adds the new one.
    await ctx.pool.query(`UPDATE console_sessions SET expires_at = now() - interval '2 days' WHERE id = ${latest}`);
    const kept = await count("SELECT count(*)::text AS n FROM console_sessions WHERE user_id = (SELECT id FROM console_users WHERE email = 'sessions@example.com')");
    const disabled = await signIn(ctx.http, 'sessions@example.com', PASSWORD);
    expect(await count("SELECT count(*)::text AS n FROM console_sessions WHERE user_id = (SELECT id FROM console_users WHERE email = 'sessions@example.com')")).toBe(kept);
    await auth.disableUser('sessions@example.com');
    await expectSignedOut(disabled);
  });

  it('a made-up or malformed session cookie is no session', async () => {
    for (const cookie of ['lk_console=cst_' + 'A'.repeat(40), 'lk_console=nonsense', 'lk_console=']) {
      expect((await ctx.http.get('/console/projects').set('cookie', cookie)).status).toBe(303);
    }
  });
});

describe('CSRF on every form', () => {
  it('a POST without the session CSRF value, or with another session’s, changes nothing', async () => {
    const before = await count('SELECT count(*)::text AS n FROM projects');
    const missing = await ctx.http.post('/console/projects').set('cookie', session.cookie).type('form').send({ name: 'csrf-probe' });
    expect(missing.status).toBe(403);
    await consoleAuthOf(ctx).addUser('other@example.com', PASSWORD);
    const other = await signIn(ctx.http, 'other@example.com', PASSWORD);
    const foreign = await ctx.http.post('/console/projects').set('cookie', session.cookie).type('form').send({ name: 'csrf-probe', csrf: other.csrf });
    expect(foreign.status).toBe(403);
    expect(foreign.text).toContain('This form expired or did not come from the console');
    expect(await count('SELECT count(*)::text AS n FROM projects')).toBe(before);
  });
});

describe('pages and actions', () => {
  it('every page carries the strict CSP, no-store and no framing, and loads nothing inline', async () => {
    const res = await get('/console/projects').expect(200);
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.text).not.toMatch(/<script>|<style>| style="/);
    for (const asset of ['/console/assets/console.css', '/console/assets/console.js']) await ctx.http.get(asset).expect(200);
  });

  it('creates a project and a key, showing the key once; revokes a key so the API refuses it', async () => {
    const made = await post('/console/projects', { name: 'made in the console' });
    expect(made.status).toBe(201);
    const apiKey = /value="(ak_[0-9A-Za-z]{40})"/.exec(made.text)![1]!;
    await ctx.http.get('/api/v3.1/auth_configs').set('x-api-key', apiKey).expect(200);
    const projectId = /href="\/console\/projects\/(proj_[0-9A-Za-z]+)\/accounts">made in the console</.exec(made.text)![1]!;
    // The same name again is the database's unique rule: a 409 page, nothing half-made.
    const again = await post('/console/projects', { name: 'made in the console' });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/^text\/html/);

    const keyPage = await post(`/console/projects/${projectId}/keys`, { name: 'second' });
    expect(keyPage.status).toBe(201);
    const second = /value="(ak_[0-9A-Za-z]{40})"/.exec(keyPage.text)![1]!;
    const keyId = new RegExp(`(key_[0-9A-Za-z]+)</span>\\) created`).exec(keyPage.text)![1]!;
    // Shown once: the list never shows it again.
    expect((await get(`/console/projects/${projectId}/keys`).expect(200)).text).not.toContain(second);

    const revoked = await post(`/console/projects/${projectId}/keys/${keyId}/revoke`);
    expect(revoked.status).toBe(303);
    await ctx.http.get('/api/v3.1/auth_configs').set('x-api-key', second).expect(401);
    // Audited as the operator, with the console request's id.
    const records = await ctx.pool.query<{ actor: string; action: string; request_id: string | null }>(
      'SELECT actor, action, request_id FROM audit_logs WHERE object_id = $1 ORDER BY created_at',
      [keyId],
    );
    expect(records.rows.map((r) => [r.actor, r.action])).toEqual([
      [`operator:${EMAIL}`, 'api_key.create'],
      [`operator:${EMAIL}`, 'api_key.revoke'],
    ]);
    expect(records.rows[1]!.request_id).toBe(revoked.headers['x-request-id']);
  });

  it('filters accounts, shows an account without its secret, disables and enables it through the state machine', async () => {
    const cfg = await linearConfig(ctx);
    const jessica = await apiKeyAccount(ctx, cfg, { userId: 'user-jessica', key: 'lin_api_supersecret_jessica' });
    await apiKeyAccount(ctx, cfg, { userId: 'user-melissa' });
    const base = `/console/projects/${ctx.projectId}/accounts`;

    await ctx.http.patch(`/api/v3.1/connected_accounts/${jessica}`).set('x-api-key', ctx.apiKey).send({ labels: ['vip'] }).expect(200);
    const byLabel = await get(`${base}?label=vip`).expect(200);
    expect(byLabel.text).toContain(jessica);
    expect(byLabel.text).not.toContain('user-melissa');
    const filtered = await get(`${base}?user=user-jessica&status=ACTIVE&toolkit=linear`).expect(200);
    expect(filtered.text).toContain(jessica);
    expect(filtered.text).not.toContain('user-melissa');
    expect((await get(`${base}?status=REVOKED`).expect(200)).text).toContain('No accounts match these filters.');

    const detail = await get(`${base}/${jessica}`).expect(200);
    expect(detail.text).toContain('user-jessica');
    expect(detail.text).not.toContain('lin_api_supersecret_jessica');
    expect(detail.text).toContain('********');
    expect(detail.text).toContain('created'); // its first event

    expect((await post(`${base}/${jessica}/disable`)).headers.location).toBe(`${base}/${jessica}?done=disable`);
    const viaApi = await ctx.http.get(`/api/v3.1/connected_accounts/${jessica}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(viaApi.body.status).toBe('INACTIVE');
    // Revoking an API-key account is something the service refuses: its 400, as a page, not a 500.
    const revoke = await post(`${base}/${jessica}/revoke`);
    expect(revoke.status).toBe(400);
    expect(revoke.headers['content-type']).toMatch(/^text\/html/);
    expect(revoke.text).toContain('Revocation is not supported for linear API_KEY accounts');
    await post(`${base}/${jessica}/enable`).expect(303);
    expect((await ctx.http.get(`/api/v3.1/connected_accounts/${jessica}`).set('x-api-key', ctx.apiKey)).body.status).toBe('ACTIVE');
  });

  it('a reconnect link is a Connect Link for the same user and auth config, shown once', async () => {
    const cfg = await linearConfig(ctx);
    const id = await apiKeyAccount(ctx, cfg, { userId: 'user-reconnect' });
    const res = await post(`/console/projects/${ctx.projectId}/accounts/${id}/reconnect`);
    expect(res.status).toBe(201);
    const url = /value="(http:\/\/127\.0\.0\.1\/link\/lt_[0-9A-Za-z]{40})"/.exec(res.text)![1]!;
    const newId = /accounts\/(ca_[0-9A-Za-z]+)">\1<\/a>/.exec(res.text)![1]!;
    const pending = await ctx.http.get(`/api/v3.1/connected_accounts/${newId}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(pending.body).toMatchObject({ status: 'INITIALIZING', user_id: 'user-reconnect', auth_config: { id: cfg } });
    await ctx.http.get(new URL(url).pathname).expect(200);
  });

  it('deletes an account; another project’s account, an unknown project or a malformed id is a 404 or 400 page', async () => {
    const cfg = await linearConfig(ctx);
    const id = await apiKeyAccount(ctx, cfg, { userId: 'user-gone' });
    const base = `/console/projects/${ctx.projectId}/accounts`;
    const del = await post(`${base}/${id}/delete`);
    expect(del.headers.location).toBe(`${base}?deleted=${id}`);
    await ctx.http.get(`/api/v3.1/connected_accounts/${id}`).set('x-api-key', ctx.apiKey).expect(404);

    const other = await ctx.newProject();
    const otherCfg = await linearConfig(ctx, other.apiKey);
    const theirs = await apiKeyAccount(ctx, otherCfg, { apiKey: other.apiKey });
    expect((await get(`${base}/${theirs}`)).status).toBe(404);
    expect((await post(`${base}/${theirs}/disable`)).status).toBe(404);
    expect((await get('/console/projects/proj_doesnotexist1/accounts')).status).toBe(404);
    const bad = await get(`${base}?status=NOPE`);
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^text\/html/);
    expect((await get(`${base}?cursor=not-a-cursor`)).status).toBe(400);
    expect((await get('/console/nowhere')).status).toBe(404);
  });

  it('pages every list: 25 accounts are two pages, the second reached by its cursor', async () => {
    const other = await ctx.newProject('paging');
    const cfg = await linearConfig(ctx, other.apiKey);
    for (let i = 0; i < 25; i++) await apiKeyAccount(ctx, cfg, { apiKey: other.apiKey, userId: `user-${i}` });
    const base = `/console/projects/${other.projectId}/accounts`;
    const first = await get(base).expect(200);
    expect(first.text).toContain('Page 1 of 2 · 25 items');
    const next = /href="([^"]+)" rel="next"/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await get(next).expect(200);
    expect(second.text).toContain('Page 2 of 2 · 25 items');
    expect(second.text.match(/<tr><td><a href="\/console\/projects/g)).toHaveLength(5);
  });

  it('shows a project’s audit log with the API’s filters, and an account’s own records on its page', async () => {
    const cfg = await linearConfig(ctx);
    const id = await apiKeyAccount(ctx, cfg, { userId: 'user-audited' });
    const { audit } = ctx.app.services;
    await audit.record(ctx.pool, { projectId: ctx.projectId, action: 'connected_account.disable', objectId: id, actor: 'operator:ops@example.com', detail: { to: 'INACTIVE' } });
    await audit.record(ctx.pool, { projectId: ctx.projectId, action: 'api_key.create', objectId: 'key_auditprobe1', actor: 'operator:ops@example.com' });
    const other = await ctx.newProject();
    await audit.record(ctx.pool, { projectId: other.projectId, action: 'api_key.create', objectId: 'key_otherproject', actor: 'operator:ops@example.com' });

    const base = `/console/projects/${ctx.projectId}/audit`;
    const all = await get(base).expect(200);
    expect(all.text).toContain(id);
    expect(all.text).toContain('key_auditprobe1');
    expect(all.text).not.toContain('key_otherproject');
    const byAction = await get(`${base}?action=connected_account.disable`).expect(200);
    expect(byAction.text).toContain(id);
    expect(byAction.text).not.toContain('key_auditprobe1');
    const byObject = await get(`${base}?object=key_auditprobe1&from=2000-01-01T00:00`).expect(200);
    expect(byObject.text).not.toContain(id);
    expect(byObject.text).toContain('key_auditprobe1');
    expect((await get(`${base}?to=2000-01-01T00:00`).expect(200)).text).toContain('No audit records.');
    expect((await get(`${base}?from=yesterday`)).status).toBe(400);

    const detail = await get(`/console/projects/${ctx.projectId}/accounts/${id}`).expect(200);
    const section = detail.text.slice(detail.text.indexOf('id="audit"'));
    expect(section).toContain('connected_account.disable');
    expect(section).toContain('operator:ops@example.com');
    expect(section).not.toContain('key_auditprobe1');
  });

  it('shows a subscription’s delivery log (also on the account), retries a delivery and rotates the secret, shown once', async () => {
    const receiver = await startReceiver();
    try {
      const p = await ctx.newProject('webhooks');
      const sub = await ctx.http
        .post('/api/v3.1/webhook_subscriptions')
        .set('x-api-key', p.apiKey)
        .send({ webhook_url: receiver.url, enabled_events: ['composio.connected_account.created'] })
        .expect(201);
      const cfg = await linearConfig(ctx, p.apiKey);
      const account = await apiKeyAccount(ctx, cfg, { apiKey: p.apiKey, userId: 'user-hooked' });
      for (let i = 0; i < 20 && receiver.received.length === 0; i++) await ctx.app.services.webhookDelivery.runOnce();
      expect(receiver.received).toHaveLength(1);

      const base = `/console/projects/${p.projectId}/webhooks`;
      expect((await get(base).expect(200)).text).toContain(receiver.url);
      const detail = await get(`${base}/${sub.body.id}`).expect(200);
      expect(detail.text).toContain('composio.connected_account.created');
      expect(detail.text).toContain('SUCCEEDED');
      const accountPage = await get(`/console/projects/${p.projectId}/accounts/${account}`).expect(200);
      expect(accountPage.text.slice(accountPage.text.indexOf('id="deliveries"'))).toContain(receiver.url);

      const deliveryId = /\/deliveries\/(wd_[0-9A-Za-z]+)\/retry/.exec(detail.text)![1]!;
      const retry = await post(`${base}/${sub.body.id}/deliveries/${deliveryId}/retry`);
      expect(retry.headers.location).toBe(`${base}/${sub.body.id}?done=retry`);
      for (let i = 0; i < 20 && receiver.received.length < 2; i++) await ctx.app.services.webhookDelivery.runOnce();
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);

      const rotated = await post(`${base}/${sub.body.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const secret = /id="new-secret" readonly value="([^"]+)"/.exec(rotated.text)![1]!;
      expect(secret).not.toBe(sub.body.secret);
      expect((await get(`${base}/${sub.body.id}`).expect(200)).text).not.toContain(secret);
      // Another project's subscription is not found under this one.
      expect((await get(`/console/projects/${ctx.projectId}/webhooks/${sub.body.id}`)).status).toBe(404);
    } finally {
      await receiver.close();
    }
  });

  it('lists auth configs (disabled ones too) and disables and enables one', async () => {
    const p = await ctx.newProject('auth-configs');
    const cfg = await linearConfig(ctx, p.apiKey);
    const base = `/console/projects/${p.projectId}/auth-configs`;
    expect((await get(base).expect(200)).text).toContain(cfg);
    await post(`${base}/${cfg}/disable`).expect(303);
    const viaApi = await ctx.http.get(`/api/v3.1/auth_configs/${cfg}`).set('x-api-key', p.apiKey).expect(200);
    expect(viaApi.body.status).toBe('DISABLED');
    const listed = await get(base).expect(200);
    expect(listed.text).toContain(cfg);
    expect(listed.text).toContain('>DISABLED<');
    await post(`${base}/${cfg}/enable`).expect(303);
    expect((await ctx.http.get(`/api/v3.1/auth_configs/${cfg}`).set('x-api-key', p.apiKey)).body.status).toBe('ENABLED');
    expect((await post(`/console/projects/${ctx.projectId}/auth-configs/${cfg}/disable`)).status).toBe(404);
  });

  it('shows system health: the database, the job queue and the outbox', async () => {
    const res = await get('/console/health').expect(200);
    expect(res.text).toContain('reachable');
    expect(res.text).toContain('Events not yet fanned out');
    expect(res.text).toContain('Job queue');
  });
});

describe('sign-in attempts are rate-limited; cookies are Secure behind https', () => {
  it('the fourth attempt in 15 minutes from one address is a 429 page, even with the right password', async () => {
    const limited = await createTestContext({ config: { CONSOLE_ENABLED: true, CONSOLE_SIGN_IN_ATTEMPTS: 3, publicUrl: 'https://latchkey.example.com' } });
    try {
      await consoleAuthOf(limited).addUser(EMAIL, PASSWORD);
      const form = await limited.http.get('/console/sign-in').expect(200);
      const pre = pair(cookieOf(form, 'lk_console_signin'));
      expect(cookieOf(form, 'lk_console_signin')).toMatch(/; Secure$/);
      const attempt = (password: string) => limited.http.post('/console/sign-in').set('cookie', pre).type('form').send({ email: EMAIL, password, csrf: csrfOf(form.text) });
      expect((await attempt('wrong password one')).status).toBe(401);
      expect((await attempt('wrong password two')).status).toBe(401);
      const ok = await attempt(PASSWORD);
      expect(ok.status).toBe(303);
      expect(cookieOf(ok, 'lk_console')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
      const refused = await attempt(PASSWORD);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(refused.text).toContain('Too many attempts');
      expect(cookieOf(refused, 'lk_console')).toBeUndefined();
    } finally {
      await limited.close();
    }
  });
});
