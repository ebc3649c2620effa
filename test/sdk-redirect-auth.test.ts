/**
 * The official SDK (@composio/core) against OAUTH1 and DCR_OAUTH accounts: it creates the auth
 * configs, initiates, waits for and reads the accounts, and lists them. The SDK only logs when a
 * response fails its own schema, so every console warning or error it prints fails the test.
 */
import { Composio } from '@composio/core';
import { type MockInstance, afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type McpAuthServer, startMcpAuthServer } from './support/mcp-auth-server.js';
import { type OAuth1Provider, startOAuth1Provider } from './support/oauth1-provider.js';
import { createToolkit, oauth1Toolkit, type RedirectEnv, startRedirectEnv, visit } from './support/redirect-env.js';

let env: RedirectEnv;
let oauth1: OAuth1Provider;
let mcp: McpAuthServer;
let composio: Composio;
const logged: string[] = [];
const spies: MockInstance[] = [];

beforeAll(async () => {
  oauth1 = await startOAuth1Provider({ consumer: { secret: 'consumer-secret' } });
  mcp = await startMcpAuthServer();
  env = await startRedirectEnv();
  await createToolkit(env, oauth1Toolkit('tinyprov', oauth1.url));
  for (const level of ['warn', 'error'] as const) {
    spies.push(vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' '))));
  }
  composio = new Composio({ apiKey: env.ctx.apiKey, baseURL: env.baseUrl, allowTracking: false, disableVersionCheck: true });
});
afterEach(() => {
  expect(logged.splice(0, logged.length), 'the SDK logged warnings or errors').toEqual([]);
});
afterAll(async () => {
  for (const s of spies) s.mockRestore();
  await env?.ctx.close();
  await oauth1?.close();
  await mcp?.close();
});

/** The person consents at the provider and lands on Latchkey's callback. */
async function consent(redirectUrl: string) {
  const atProvider = await visit(redirectUrl);
  expect(atProvider.status).toBe(302);
  expect((await visit(atProvider.location!)).status).toBe(200);
}

describe.each([
  { scheme: 'OAUTH1', toolkit: 'tinyprov', credentials: { consumer_key: 'consumer', consumer_secret: 'consumer-secret' }, token: 'oauth_token' },
  { scheme: 'DCR_OAUTH', toolkit: 'mcp', credentials: () => ({ mcp_url: mcp.resource }), token: 'access_token' },
] as const)('the SDK with $scheme', ({ scheme, toolkit, credentials, token }) => {
  it('creates the auth config, initiates, waits for ACTIVE and reads the account without schema warnings', async () => {
    const creds = typeof credentials === 'function' ? credentials() : credentials;
    const cfg = await composio.authConfigs.create(toolkit, { type: 'use_custom_auth', authScheme: scheme, credentials: creds });
    expect(cfg).toMatchObject({ authScheme: scheme, isComposioManaged: false, toolkit });

    const request = await composio.connectedAccounts.initiate('ada', cfg.id);
    expect(request.status).toBe('INITIATED');
    expect(request.redirectUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const pending = await composio.connectedAccounts.get(request.id);
    expect(pending).toMatchObject({ status: 'INITIATED', authConfig: { id: cfg.id, authScheme: scheme } });

    await consent(request.redirectUrl!);
    const active = await composio.connectedAccounts.waitForConnection(request.id, 10_000);
    expect(active.status).toBe('ACTIVE');
    const read = await composio.connectedAccounts.get(request.id);
    expect(read.state).toMatchObject({ authScheme: scheme, val: { status: 'ACTIVE', [token]: expect.any(String) } });

    const listed = await composio.connectedAccounts.list({ userIds: ['ada'], authConfigIds: [cfg.id] });
    expect(listed.items.map((i) => i.id)).toEqual([request.id]);
  });
});
