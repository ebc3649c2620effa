/**
 * The hosted Connect Link page end to end in a real browser (Debian's Chromium through
 * playwright-core): Latchkey listening on 127.0.0.1 with its real URL as publicUrl, an in-process
 * OAuth 2.0 provider, and a tiny loopback "app" receiving the callbacks. Every test drives the page
 * as a person would (open the link, read, click, type, submit) and then checks the account through
 * the API. Each state the page can show is saved as a full-page PNG in test-artifacts/screenshots/
 * (UPDATE_DOCS_SCREENSHOT=1 also refreshes docs/connect-link.png from the API-key form).
 * Without Chromium the whole file skips, saying why.
 */
import { Composio } from '@composio/core';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CHROMIUM_MISSING,
  type CallbackServer,
  chromiumFound,
  computedStyle,
  docsScreenshot,
  screenshot,
  startCallbackServer,
  submitLinkForm as submit,
  useOfflineBrowser,
} from './support/browser.js';
import { CALLBACK_PATH, type OAuthEnv, api, getAccount, startOAuthEnv } from './support/oauth-app.js';
import { type MockProvider, startProvider } from './support/oauth-server.js';

if (!chromiumFound) console.warn(CHROMIUM_MISSING);

const INITIATION_TIMEOUT = 'Connection initiation did not complete within 10 minutes';

type Link = { link_token: string; redirect_url: string; expires_at: string; connected_account_id: string };

describe.skipIf(!chromiumFound)('the hosted Connect Link page in Chromium', () => {
  // The pages load nothing remote, not even logos (they are letters unless LINK_ALLOW_REMOTE_LOGOS).
  const tab = useOfflineBrowser();
  let provider: MockProvider;
  let env: OAuthEnv;
  let app: CallbackServer;
  let linearCfg: string;

  beforeAll(async () => {
    provider = await startProvider();
    env = await startOAuthEnv(provider); // listens on 127.0.0.1; publicUrl is that URL
    app = await startCallbackServer();
    const cfg = await api(env).post('/auth_configs', {
      toolkit: { slug: 'linear' },
      auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} },
    });
    expect(cfg.status, JSON.stringify(cfg.body)).toBe(201);
    linearCfg = (cfg.body as { auth_config: { id: string } }).auth_config.id;
  });
  afterAll(async () => {
    await app?.close();
    await env?.ctx.close();
    await provider?.stop();
  });
  afterEach(() => {
    provider.reset();
  });

  async function createLink(body: { auth_config_id: string; user_id: string; callback_url?: string }): Promise<Link> {
    const res = await api(env).post('/connected_accounts/link', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const link = res.body as Link;
    expect(link.redirect_url).toBe(`${env.baseUrl}/link/${link.link_token}`);
    return link;
  }

  const heading = (page: Page) => page.getByRole('heading', { level: 1 });
  // By role and accessible name: the required marker (aria-hidden) is not part of the name.
  const apiKeyInput = (page: Page) => page.getByRole('textbox', { name: 'API Key', exact: true });

  /** The usual path: open the link, type the key, submit. */
  async function connectWithKey(page: Page, link: Link, key: string) {
    expect((await page.goto(link.redirect_url))?.status()).toBe(200);
    await apiKeyInput(page).click();
    await apiKeyInput(page).pressSequentially(key);
    return submit(page, 'Connect');
  }

  it('collects an API key: the form, a masked required field, then the app callback with the outcome', async () => {
    const link = await createLink({ auth_config_id: linearCfg, user_id: 'user-jessica', callback_url: app.url('api-key') });
    const page = await tab.newPage();
    const requested: string[] = [];
    page.on('request', (r) => void requested.push(r.url()));
    const opened = await page.goto(link.redirect_url);
    expect(opened?.status()).toBe(200);
    await page.waitForLoadState('load');
    // Everything the page asked for came from Latchkey: no logo, font or anything else from elsewhere.
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => new URL(u).origin !== env.baseUrl)).toEqual([]);

    expect(await page.title()).toBe('Connect Linear');
    expect(await heading(page).textContent()).toBe('Connect Linear');
    expect(await page.locator('p.sub').textContent()).toBe('test-project asks to connect your Linear account.');
    // The logos are letters (decorative: the heading names both), drawn by the page itself.
    const marks = page.locator('.logos .mark');
    expect(await marks.allTextContents()).toEqual(['T', 'L']);
    expect(await marks.nth(1).isVisible()).toBe(true);
    expect(await marks.nth(1).getAttribute('aria-hidden')).toBe('true');
    expect(await page.locator('img').count()).toBe(0);
    // Where to find the key: the catalogue's page, in a new tab, without opener or referrer.
    const hint = page.getByRole('link', { name: /^Where do I find my key\?/ });
    expect(await hint.getAttribute('href')).toBe('https://linear.app/settings/account/security');
    expect(await hint.getAttribute('target')).toBe('_blank');
    expect(await hint.getAttribute('rel')).toBe('noopener noreferrer');

    // One field, found by its label: masked, required, described, with a visible (aria-hidden) marker.
    const input = apiKeyInput(page);
    expect(await input.getAttribute('type')).toBe('password');
    expect(await input.getAttribute('name')).toBe('api_key');
    expect(await input.getAttribute('required')).not.toBeNull();
    expect(await input.getAttribute('aria-required')).toBe('true');
    expect(await input.getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator(`#${await input.getAttribute('aria-describedby')}`).textContent()).toContain("Linear's security settings");
    const marker = page.locator('label[for="f_api_key"] .req');
    expect(await marker.textContent()).toBe('*');
    expect(await marker.getAttribute('aria-hidden')).toBe('true');
    expect(await marker.isVisible()).toBe(true);
    expect(await page.locator('input:not([type=hidden])').count()).toBe(1);
    expect(await page.getByRole('button').allTextContents()).toEqual(['Connect']);
    expect(await page.locator('p.note').textContent()).toContain('never sees it');
    expect(await page.locator('script').count()).toBe(0);
    // The anti-CSRF cookie, as the browser stored it.
    const cookies = await tab.context.cookies(env.baseUrl + '/link/');
    expect(cookies).toEqual([expect.objectContaining({ name: expect.stringMatching(/^lk_csrf_ls_/), path: '/link', httpOnly: true, sameSite: 'Strict', secure: false })]);
    await docsScreenshot(page, 'api-key-form', 'connect-link.png');
    // The keyboard reaches the field, the hint and the button, in that order.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('f_api_key');
    await page.keyboard.press('Tab');
    expect(await hint.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await page.getByRole('button', { name: 'Connect' }).evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)).toBe(true);

    await input.click();
    await input.pressSequentially('lin_api_JESSICA_0123456789');
    expect(await input.inputValue()).toBe('lin_api_JESSICA_0123456789');
    expect(await submit(page, 'Connect')).toBe(303);

    // The browser lands on the app, which learns the outcome from the query (its own query kept).
    await page.waitForURL((u) => u.origin === app.origin);
    expect(await heading(page).textContent()).toBe('Back in the app');
    const hit = await app.hit('api-key');
    const outcome = { from: 'app', status: 'success', connected_account_id: link.connected_account_id, connection_status: 'ACTIVE', connectedAccountId: link.connected_account_id };
    expect(hit.query).toEqual(outcome);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual(outcome);
    expect(page.url()).not.toContain('lin_api_');

    const account = await getAccount(env, link.connected_account_id);
    expect(account).toMatchObject({ status: 'ACTIVE', status_reason: null });
    expect(account.state.val.api_key).toBe('lin_api_JESSICA_0123456789');
    expect(tab.cspViolations).toEqual([]);
    expect(env.ctx.logs()).not.toContain('lin_api_JESSICA_0123456789');
    expect(env.ctx.logs()).not.toContain(link.link_token);
  });

  it('an empty submit shows the error next to the field; typing a key then connects (no callback_url: the success page)', async () => {
    const link = await createLink({ auth_config_id: linearCfg, user_id: 'user-melissa' });
    const page = await tab.newPage();
    expect((await page.goto(link.redirect_url))?.status()).toBe(200);

    expect(await submit(page, 'Connect')).toBe(400);
    const input = apiKeyInput(page);
    const error = page.getByRole('alert');
    expect(await error.textContent()).toBe('This field is required.');
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    const errorId = await error.getAttribute('id');
    expect((await input.getAttribute('aria-describedby'))?.split(' ')).toContain(errorId);
    // Next to the field: just under it, left-aligned with it, and styled as an error.
    const inputBox = (await input.boundingBox())!;
    const errorBox = (await error.boundingBox())!;
    expect(errorBox.y).toBeGreaterThanOrEqual(inputBox.y + inputBox.height);
    expect(errorBox.y - (inputBox.y + inputBox.height)).toBeLessThan(16);
    expect(Math.abs(errorBox.x - inputBox.x)).toBeLessThan(2);
    expect(await computedStyle(error, 'color')).toBe('rgb(179, 38, 30)');
    expect(await computedStyle(input, 'border-top-color')).toBe('rgb(179, 38, 30)');
    expect(await heading(page).textContent()).toBe('Connect Linear');
    await screenshot(page, 'api-key-validation-error');
    expect((await getAccount(env, link.connected_account_id)).status).toBe('INITIALIZING');

    await input.click();
    await input.pressSequentially('lin_api_MELISSA_abcdef');
    expect(await submit(page, 'Connect')).toBe(200);
    expect(await heading(page).textContent()).toBe('Connected');
    expect(await page.getByRole('status').textContent()).toContain('account is connected. You can close this window.');
    expect(await page.locator('form').count()).toBe(0);
    await screenshot(page, 'success');

    const account = await getAccount(env, link.connected_account_id);
    expect(account).toMatchObject({ status: 'ACTIVE', status_reason: null });
    expect(account.state.val.api_key).toBe('lin_api_MELISSA_abcdef');
    expect(tab.cspViolations).toEqual([]);
  });

  it('OAuth2: "Continue to Acme" goes through the provider and back to Latchkey, then to the app', async () => {
    const link = await createLink({ auth_config_id: env.authConfigId, user_id: 'user-oauth', callback_url: app.url('oauth') });
    const page = await tab.newPage();
    const visited: string[] = [];
    page.on('request', (r) => void (r.isNavigationRequest() && visited.push(r.url())));
    expect((await page.goto(link.redirect_url))?.status()).toBe(200);

    expect(await heading(page).textContent()).toBe('Connect Acme');
    // The provider's logo is a letter too: the page does not ask the provider for anything.
    expect(await page.locator('.logos .mark').allTextContents()).toEqual(['T', 'A']);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('input:not([type=hidden])').count()).toBe(0);
    expect(await page.getByRole('button').allTextContents()).toEqual(['Continue to Acme']);
    expect(await page.locator('p.note').textContent()).toBe(`You will sign in on Acme's own site, at ${new URL(provider.issuer).host}.`);
    await screenshot(page, 'oauth-continue');

    const tokenCalls = provider.tokenCalls.length;
    expect(await submit(page, 'Continue to Acme')).toBe(303);
    await page.waitForURL((u) => u.origin === app.origin);

    // link page → the provider's authorize endpoint → Latchkey's callback → the app.
    const hops = visited.map((u) => new URL(u)).map((u) => `${u.origin}${u.pathname}`);
    expect(hops).toEqual([
      new URL(link.redirect_url).href,
      new URL(link.redirect_url).href, // the form's POST
      `${provider.issuer}/authorize`,
      `${env.baseUrl}${CALLBACK_PATH}`,
      `${app.origin}/cb/oauth`,
    ]);
    const authorize = new URL(visited[2]!).searchParams;
    expect(authorize.get('redirect_uri')).toBe(`${env.baseUrl}${CALLBACK_PATH}`);
    expect(authorize.get('code_challenge_method')).toBe('S256');
    expect(provider.tokenCalls.slice(tokenCalls)).toEqual([expect.objectContaining({ grant_type: 'authorization_code' })]);

    const hit = await app.hit('oauth');
    expect(hit.query).toMatchObject({ from: 'app', status: 'success', connected_account_id: link.connected_account_id, connection_status: 'ACTIVE' });
    const account = await getAccount(env, link.connected_account_id);
    expect(account).toMatchObject({ status: 'ACTIVE', status_reason: null });
    expect(account.state.val).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String) });
    expect(page.url()).not.toContain(String(account.state.val.access_token));
    // The form-action naming only the link's own URL, the provider and the app allowed every hop.
    expect(tab.cspViolations).toEqual([]);
  });

  it('OAuth2 without a callback_url ends on the "Connected" page', async () => {
    const link = await createLink({ auth_config_id: env.authConfigId, user_id: 'user-oauth-2' });
    const page = await tab.newPage();
    expect((await page.goto(link.redirect_url))?.status()).toBe(200);
    await page.getByRole('button', { name: 'Continue to Acme' }).click();
    await page.waitForURL((u) => u.pathname === CALLBACK_PATH);
    expect(await heading(page).textContent()).toBe('Connected');
    expect(await page.locator('main p').textContent()).toContain('account is connected');
    await screenshot(page, 'oauth-connected');
    expect((await getAccount(env, link.connected_account_id)).status).toBe('ACTIVE');
  });

  it('an expired link shows the expired page and leaves the account FAILED', async () => {
    const link = await createLink({ auth_config_id: linearCfg, user_id: 'user-late', callback_url: app.url('expired') });
    // Ten minutes (the default lifetime) have passed since the link was made.
    await env.ctx.db.linkSession.updateMany({ where: { accountId: link.connected_account_id }, data: { createdAt: new Date(Date.now() - 601_000), expiresAt: new Date(Date.now() - 1000) } });
    const page = await tab.newPage();
    const opened = await page.goto(link.redirect_url);
    expect(opened?.status()).toBe(410);
    expect(await page.title()).toBe('Link expired');
    expect(await heading(page).textContent()).toBe('Link expired');
    expect(await page.getByRole('status').textContent()).toContain('This link has expired. Ask the app for a new one.');
    expect(await page.locator('form, input, button').count()).toBe(0);
    await screenshot(page, 'expired');

    expect(await getAccount(env, link.connected_account_id)).toMatchObject({ status: 'FAILED', status_reason: INITIATION_TIMEOUT });
    expect(app.hits.filter((h) => h.path === '/cb/expired')).toEqual([]);
  });

  it('a used link cannot be used again: going back to it, or opening it anew, shows "already used"', async () => {
    const link = await createLink({ auth_config_id: linearCfg, user_id: 'user-twice', callback_url: app.url('reused') });
    const page = await tab.newPage();
    expect(await connectWithKey(page, link, 'lin_api_FIRST_111')).toBe(303);
    await page.waitForURL((u) => u.origin === app.origin);
    expect(await app.hit('reused')).toMatchObject({ query: { status: 'success' } });

    // The back button: the page is not cached (no-store), so the browser asks again.
    const back = await page.goBack();
    expect(back?.status()).toBe(410);
    expect(await heading(page).textContent()).toBe('Link already used');

    // The link opened again later, in another tab.
    const again = await tab.newPage();
    expect((await again.goto(link.redirect_url))?.status()).toBe(410);
    expect(await again.title()).toBe('Link already used');
    expect(await heading(again).textContent()).toBe('Link already used');
    expect(await again.getByRole('status').textContent()).toContain('This link was already used. Ask the app for a new one.');
    expect(await again.locator('form, input').count()).toBe(0);
    await screenshot(again, 'reused');

    const account = await getAccount(env, link.connected_account_id);
    expect(account.status).toBe('ACTIVE');
    expect(account.state.val.api_key).toBe('lin_api_FIRST_111');
    expect(app.hits.filter((h) => h.path === '/cb/reused')).toHaveLength(1);
  });

  it('the official SDK: connectedAccounts.link() → the page in Chromium → waitForConnection() resolves ACTIVE', async () => {
    const printed: string[] = [];
    const spies = (['warn', 'error'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void printed.push(`${level}: ${args.map(String).join(' ')}`)),
    );
    try {
      const composio = new Composio({ apiKey: env.ctx.apiKey, baseURL: env.baseUrl, allowTracking: false, disableVersionCheck: true });
      const request = await composio.connectedAccounts.link('user-sdk', linearCfg, { callbackUrl: app.url('sdk') });
      expect(request.id).toMatch(/^ca_/);
      expect(request.redirectUrl).toMatch(new RegExp(`^${env.baseUrl.replace(/\./g, '\\.')}/link/lt_`));

      // The app waits while the user is on the page.
      let settled = false;
      const waiting = request.waitForConnection(20_000);
      void waiting.then(
        () => (settled = true),
        () => (settled = true),
      );

      const page = await tab.newPage();
      expect((await page.goto(request.redirectUrl!))?.status()).toBe(200);
      expect(await heading(page).textContent()).toBe('Connect Linear');
      await screenshot(page, 'sdk-form');
      expect(settled).toBe(false);
      await apiKeyInput(page).click();
      await apiKeyInput(page).pressSequentially('lin_api_SDK_42');
      expect(await submit(page, 'Connect')).toBe(303);
      await page.waitForURL((u) => u.origin === app.origin);
      expect((await app.hit('sdk')).query).toMatchObject({ status: 'success', connected_account_id: request.id });

      const account = await waiting;
      expect(account).toMatchObject({ id: request.id, status: 'ACTIVE' });
      expect(account.state).toMatchObject({ authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_SDK_42' } });
      expect((await composio.connectedAccounts.get(request.id)).status).toBe('ACTIVE');
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(printed, 'the SDK printed warnings or errors').toEqual([]);
  });
});
