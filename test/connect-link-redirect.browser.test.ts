/**
 * The hosted Connect Link page for OAUTH1 and DCR_OAUTH ("MCP server by URL") in a real browser
 * (Debian's Chromium through playwright-core): the person clicks "Continue", consents at the
 * provider, comes back through Latchkey's callback and lands on the app. The page's
 * Content-Security-Policy names the provider (for an MCP server, the authorization server
 * discovered when the link was made), so no hop is blocked. Skips without Chromium, saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_MISSING,
  type CallbackServer,
  chromiumFound,
  screenshot,
  startCallbackServer,
  submitLinkForm as submit,
  useOfflineBrowser,
} from './support/browser.js';
import { type McpAuthServer, startMcpAuthServer } from './support/mcp-auth-server.js';
import { type OAuth1Provider, startOAuth1Provider } from './support/oauth1-provider.js';
import { call, createAuthConfig, createToolkit, oauth1Toolkit, type RedirectEnv, startRedirectEnv } from './support/redirect-env.js';

if (!chromiumFound) console.warn(CHROMIUM_MISSING);

const CALLBACK_PATH = '/api/v3/toolkits/auth/callback';
type Link = { link_token: string; redirect_url: string; connected_account_id: string };

describe.skipIf(!chromiumFound)('Connect Link for OAUTH1 and MCP servers, in Chromium', () => {
  const tab = useOfflineBrowser();
  let env: RedirectEnv;
  let oauth1: OAuth1Provider;
  let mcp: McpAuthServer;
  let app: CallbackServer;
  const configs: Record<string, string> = {};

  beforeAll(async () => {
    oauth1 = await startOAuth1Provider({ consumer: { secret: 'consumer-secret' } });
    mcp = await startMcpAuthServer();
    env = await startRedirectEnv();
    app = await startCallbackServer();
    await createToolkit(env, oauth1Toolkit('tinyprov', oauth1.url));
    configs.OAUTH1 = await createAuthConfig(env, 'tinyprov', 'OAUTH1', { consumer_key: 'consumer', consumer_secret: 'consumer-secret' });
    configs.DCR_OAUTH = await createAuthConfig(env, 'mcp', 'DCR_OAUTH', { mcp_url: mcp.resource });
  });
  afterAll(async () => {
    await app?.close();
    await env?.ctx.close();
    await oauth1?.close();
    await mcp?.close();
  });

  async function createLink(authConfigId: string, name: string): Promise<Link> {
    const res = await call(env).post('/connected_accounts/link', { auth_config_id: authConfigId, user_id: `user-${name}`, callback_url: app.url(name) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as Link;
  }

  it.each([
    ['OAUTH1', 'OAuth1 tinyprov', () => `${oauth1.url}/oauth/authorize`],
    ['DCR_OAUTH', 'MCP server by URL', () => `${mcp.issuer}/authorize`],
  ])('%s: "Continue" → consent at the provider → Latchkey callback → the app, ACTIVE', async (scheme, toolkitName, authorizeAt) => {
    const hitName = scheme.toLowerCase().replace('_', '-');
    const link = await createLink(configs[scheme]!, hitName);
    const page = await tab.newPage();
    const visited: string[] = [];
    page.on('request', (r) => void (r.isNavigationRequest() && visited.push(r.url())));
    expect((await page.goto(link.redirect_url))?.status()).toBe(200);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Connect ${toolkitName}`);
    await screenshot(page, `link-${hitName}-continue`);

    expect(await submit(page, `Continue to ${toolkitName}`)).toBe(303);
    await page.waitForURL((u) => u.origin === app.origin);
    const hops = visited.map((u) => new URL(u)).map((u) => `${u.origin}${u.pathname}`);
    expect(hops).toEqual([link.redirect_url, link.redirect_url, authorizeAt(), `${env.baseUrl}${CALLBACK_PATH}`, `${app.origin}/cb/${hitName}`]);

    const hit = await app.hit(hitName);
    expect(hit.query).toMatchObject({ status: 'success', connected_account_id: link.connected_account_id });
    const account = await call(env).get(`/connected_accounts/${link.connected_account_id}`);
    expect(account.body).toMatchObject({ status: 'ACTIVE', state: { authScheme: scheme } });
    expect(tab.cspViolations).toEqual([]);
  });

  it('a link for an MCP server that cannot be discovered is refused when it is made, not on the page', async () => {
    const broken = await createAuthConfig(env, 'mcp', 'DCR_OAUTH', { mcp_url: `${mcp.url}/nothing-here` });
    mcp.options.resourceMetadataAt = 'none';
    mcp.options.challenge = 'bare';
    try {
      const res = await call(env).post('/connected_accounts/link', { auth_config_id: broken, user_id: 'user-x' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('metadata_missing');
    } finally {
      mcp.reset();
    }
  });
});
