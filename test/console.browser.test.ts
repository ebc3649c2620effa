/**
 * The operator console end to end in Debian's Chromium (playwright-core): an operator signs in with
 * the keyboard, filters a project's accounts, sends a reconnect link that the end user completes on
 * the hosted page, disables an account, and finds that change in the audit log. The page loads
 * nothing remote and breaks no CSP rule; it reads at 1280 px and on a phone. Screenshots land in
 * test-artifacts/screenshots/ (UPDATE_DOCS_SCREENSHOT=1 also refreshes docs/console/*.png).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_MISSING, chromiumFound, docsScreenshot, offlineContext, useOfflineBrowser } from './support/browser.js';
import { consoleAuthOf } from './support/console.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';
import { type OAuthEnv, api, startOAuthEnv } from './support/oauth-app.js';
import { type MockProvider, startProvider } from './support/oauth-server.js';

if (!chromiumFound) console.warn(CHROMIUM_MISSING);

const EMAIL = 'ops@example.com';
const PASSWORD = 'a long operator password';

type Doc = { activeElement: { textContent: string | null; id: string } | null; documentElement: { scrollWidth: number } };
type G = { document: Doc; innerWidth: number };

/** A screenshot for the test artifacts, and for docs/console/ when asked to refresh them. */
const shot = (page: Page, name: string) => docsScreenshot(page, name, `console/${name}.png`);

describe.skipIf(!chromiumFound)('the operator console in Chromium', () => {
  const tab = useOfflineBrowser({ noCspViolations: true });
  let provider: MockProvider;
  let env: OAuthEnv;
  let jessica: string;

  beforeAll(async () => {
    provider = await startProvider();
    env = await startOAuthEnv(provider, { CONSOLE_ENABLED: true });
    await consoleAuthOf(env.ctx, env.baseUrl).addUser(EMAIL, PASSWORD);
    const cfg = await linearConfig(env.ctx);
    jessica = await apiKeyAccount(env.ctx, cfg, { userId: 'user-jessica', key: 'lin_api_jessica_secret' });
    await apiKeyAccount(env.ctx, cfg, { userId: 'user-melissa' });
    await apiKeyAccount(env.ctx, cfg, { userId: 'user-sam' });
  });
  afterAll(async () => {
    await env?.ctx.close();
    await provider?.stop();
  });

  async function signIn(page: Page) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${env.baseUrl}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as G).document.activeElement?.id)).toBe('password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${env.baseUrl}/console/projects`);
  }

  it('signs in, filters accounts, sends a reconnect link the user completes, disables an account, and finds it in the audit log', async () => {
    const page = await tab.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${env.baseUrl}/console`);
    await shot(page, 'sign-in');
    await signIn(page);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Projects');
    // The first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as G).document.activeElement?.textContent)).toBe('Skip to content');

    // Filter the project's accounts by user and status.
    await page.getByRole('link', { name: 'test-project' }).click();
    await page.getByLabel('User id').fill('user-jessica');
    await page.getByLabel('Status').selectOption('ACTIVE');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/user=user-jessica/);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('user-jessica');
    await shot(page, 'accounts');

    // A reconnect link for Jessica's account, completed by Jessica in her own browser.
    await page.getByRole('link', { name: jessica }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Account ${jessica}`);
    expect(await page.content()).not.toContain('lin_api_jessica_secret');
    await page.getByRole('button', { name: 'Send reconnect link' }).click();
    const linkInput = page.getByRole('textbox', { name: 'Reconnect link' });
    const link = await linkInput.inputValue();
    expect(link).toMatch(new RegExp(`^${env.baseUrl}/link/lt_[0-9A-Za-z]{40}$`));
    await shot(page, 'reconnect-link');
    const newAccount = await page.locator('.notice.info a.mono').textContent();

    const user = await offlineContext(tab.browser());
    try {
      const userPage = await user.newPage();
      await userPage.goto(link);
      await userPage.getByLabel('API Key').fill('lin_api_jessica_new');
      await userPage.getByRole('button', { name: 'Connect' }).click();
      expect(await userPage.getByRole('heading', { level: 1 }).textContent()).toBe('Connected');
    } finally {
      await user.context.close();
    }
    const reconnected = await api(env).get(`/connected_accounts/${newAccount}`);
    expect(reconnected.body).toMatchObject({ status: 'ACTIVE', user_id: 'user-jessica' });

    // Disable the old account from its page.
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(/done=disable/);
    expect(await page.getByRole('status').first().textContent()).toContain('The account is disabled');
    expect(await page.locator('dl.facts .badge').first().textContent()).toBe('INACTIVE');
    expect((await api(env).get(`/connected_accounts/${jessica}`)).body.status).toBe('INACTIVE');
    await shot(page, 'account');

    // The audit log has the change, by this operator.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Object id').fill(jessica);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/object=/);
    const record = page.locator('tbody tr', { hasText: 'connected_account.disable' });
    expect(await record.count()).toBe(1);
    expect(await record.textContent()).toContain(`operator:${EMAIL}`);
    await shot(page, 'audit-log');

    await page.getByRole('link', { name: 'System health' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('System health');
    await shot(page, 'health');
  });

  it('reads on a phone: nothing wider than the screen but the tables, which scroll on their own', async () => {
    const page = await tab.newPage();
    await signIn(page);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${env.baseUrl}/console/projects/${env.ctx.projectId}/accounts`);
    expect(await page.evaluate(() => (globalThis as unknown as G).document.documentElement.scrollWidth <= (globalThis as unknown as G).innerWidth)).toBe(true);
    expect(await page.getByLabel('User id').isVisible()).toBe(true);
    await shot(page, 'accounts-phone');
  });
});
