/**
 * A real browser for end-to-end tests: Debian's Chromium driven by playwright-core (no browser is
 * ever downloaded). Tests skip when the executable is missing. Also: a tiny loopback "app" that
 * records the callbacks it receives, an offline network (only loopback servers are reachable;
 * https images such as toolkit logos get a placeholder so pages render the same everywhere), and
 * full-page screenshots under test-artifacts/screenshots/.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumFound = existsSync(CHROMIUM_PATH);
export const CHROMIUM_MISSING = `Chromium not found at ${CHROMIUM_PATH}: browser tests skipped; install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`;

export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-artifacts/screenshots');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A neutral square standing in for remote logos (the tests run offline). */
const PLACEHOLDER_LOGO =
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#5e6ad2"/><path d="M18 34l10 10 18-22" stroke="#fff" stroke-width="6" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>';

export type OfflineContext = {
  context: BrowserContext;
  /** A new tab in this profile, offline as described above. */
  newPage: () => Promise<Page>;
  /** Every remote URL the pages asked for (answered with a placeholder image or refused). */
  remote: { url: string; type: string }[];
  /** Content-Security-Policy violations reported on the console, from every page. */
  cspViolations: string[];
};

/**
 * A fresh browser profile (its own cookies) whose pages reach loopback servers only. Remote images
 * get the placeholder logo; any other remote request fails. Both are recorded. Interception uses
 * the DevTools Fetch domain directly rather than page.route(), because Playwright's routing aborts
 * every URL ending in /favicon.ico, and catalogue logos are such URLs (https://linear.app/favicon.ico).
 */
export async function offlineContext(browser: Browser): Promise<OfflineContext> {
  const context = await browser.newContext({ viewport: { width: 760, height: 640 }, deviceScaleFactor: 1, locale: 'en-US', colorScheme: 'light' });
  // Fail fast with Playwright's own message rather than the test's timeout.
  context.setDefaultTimeout(8_000);
  const remote: OfflineContext['remote'] = [];
  const cspViolations: string[] = [];
  const placeholder = Buffer.from(PLACEHOLDER_LOGO).toString('base64');

  async function newPage() {
    const page = await context.newPage();
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && cspViolations.push(m.text())));
    const cdp = await context.newCDPSession(page);
    cdp.on('Fetch.requestPaused', (e) => {
      const url = new URL(e.request.url);
      const answer = async () => {
        if ((url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK.has(url.hostname)) return cdp.send('Fetch.continueRequest', { requestId: e.requestId });
        remote.push({ url: e.request.url, type: e.resourceType.toLowerCase() });
        if (e.resourceType === 'Image') {
          return cdp.send('Fetch.fulfillRequest', {
            requestId: e.requestId,
            responseCode: 200,
            responseHeaders: [{ name: 'content-type', value: 'image/svg+xml' }],
            body: placeholder,
          });
        }
        return cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'InternetDisconnected' });
      };
      answer().catch(() => {}); // the page may be gone already
    });
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*', requestStage: 'Request' }] });
    return page;
  }
  return { context, newPage, remote, cspViolations };
}

/**
 * For the calling describe block: one Chromium for the block and a fresh offline profile per test.
 * After each test the profile closes, and the test fails if a page asked for anything remote (and,
 * with `noCspViolations`, if a page broke a Content-Security-Policy rule). The returned profile is
 * the current test's; `browser()` opens further profiles (another person's browser).
 */
export function useOfflineBrowser(o: { noCspViolations?: boolean } = {}) {
  let browser: Browser | undefined;
  let current: OfflineContext | undefined;
  const now = () => {
    if (!current) throw new Error('the browser profile exists only during a test');
    return current;
  };
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    current = await offlineContext(browser!);
  });
  afterEach(async () => {
    const tab = now();
    current = undefined;
    await tab.context.close();
    expect(tab.remote).toEqual([]);
    if (o.noCspViolations) expect(tab.cspViolations).toEqual([]);
  });
  return {
    get context() { return now().context; },
    newPage: () => now().newPage(),
    get remote() { return now().remote; },
    get cspViolations() { return now().cspViolations; },
    browser: () => browser!,
  };
}

/** Clicks a hosted page form's button and waits for the answer to the POST it sends; returns its status. */
export async function submitLinkForm(page: Page, buttonName: string): Promise<number> {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.startsWith('/link/'));
  await page.getByRole('button', { name: buttonName, exact: true }).click();
  return (await answered).status();
}

/** A screenshot for the test artifacts that, with UPDATE_DOCS_SCREENSHOT=1, also refreshes `docsFile` (a path under docs/). */
export async function docsScreenshot(page: Page, name: string, docsFile: string): Promise<string> {
  const file = await screenshot(page, name);
  if (process.env.UPDATE_DOCS_SCREENSHOT) {
    const target = path.resolve(import.meta.dirname, '../../docs', docsFile);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  return file;
}

/** A full-page PNG in test-artifacts/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** Whether an <img> finished loading with real pixels (false for a broken or blocked image). */
export const imageLoaded = (page: Page, selector: string) =>
  page.locator(selector).evaluate((el) => {
    const img = el as unknown as { complete: boolean; naturalWidth: number };
    return img.complete && img.naturalWidth > 0;
  });

type WindowLike = { getComputedStyle: (el: unknown) => { getPropertyValue: (name: string) => string } };

/** A CSS property's computed value on the element a locator finds ('rgb(…)' for colours). */
export const computedStyle = (locator: Locator, property: string) =>
  locator.evaluate((el, p) => (globalThis as unknown as WindowLike).getComputedStyle(el).getPropertyValue(p), property);

// ---- the app's side: where Latchkey sends the browser back ----------------------------------------

export type CallbackHit = { path: string; query: Record<string, string> };

/** A tiny loopback HTTP server playing the app's callback: it records every request's path and query. */
export async function startCallbackServer() {
  const hits: CallbackHit[] = [];
  const waiters: { path: string; resolve: (h: CallbackHit) => void }[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/favicon.ico') return void res.writeHead(404).end();
    const hit = { path: url.pathname, query: Object.fromEntries(url.searchParams) };
    hits.push(hit);
    for (const w of waiters.filter((w) => w.path === hit.path)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(hit);
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example app</title></head><body><h1>Back in the app</h1><p>${escapeHtml(url.search)}</p></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    hits,
    /** A fresh callback URL (its own path, so tests can tell their hits apart), with the app's own query. */
    url: (name: string) => `${origin}/cb/${name}?from=app`,
    /** The request that reached /cb/<name> (now or later). */
    hit: (name: string) => {
      const path = `/cb/${name}`;
      const seen = hits.find((h) => h.path === path);
      return seen ? Promise.resolve(seen) : new Promise<CallbackHit>((resolve) => waiters.push({ path, resolve }));
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
export type CallbackServer = Awaited<ReturnType<typeof startCallbackServer>>;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
