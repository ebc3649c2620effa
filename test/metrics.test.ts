/**
 * GET /metrics: off by default, behind its token when one is set, and what it reports — requests
 * per route template, the pool, the outbox, accounts by status and toolkit, webhook delivery
 * outcomes and OAuth refresh outcomes by reason — with no id, user or secret in any label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';
import { type OAuthEnv, connect, expireToken, getAccount, startOAuthEnv } from './support/oauth-app.js';
import { type MockProvider, fail, startProvider } from './support/oauth-server.js';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';

const V = '/api/v3.1';
const TOKEN = 'metrics-token-3b9d1f7e2a';
const SECRET = 'lin_api_metrics_5c8e1d2f9a';

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('metrics off (the default)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx?.close());

  it('there is no /metrics route and no metrics object', async () => {
    await ctx.http.get('/metrics').expect(404);
    expect(ctx.app.services.metrics).toBeUndefined();
  });
});

describe('metrics on, with a token', () => {
  let ctx: TestContext;
  let receiver: Receiver;
  let accountId: string;
  const scrape = () => ctx.http.get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);

  beforeAll(async () => {
    receiver = await startReceiver();
    ctx = await createTestContext({ config: { METRICS_ENABLED: true, METRICS_TOKEN: TOKEN, WEBHOOKS_ALLOW_PRIVATE_URLS: true } });
    accountId = await apiKeyAccount(ctx, await linearConfig(ctx), { key: SECRET, userId: 'user-metrics-42' });
  });
  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
  });

  it('refuses a missing or wrong token with a 401 in the envelope', async () => {
    const none = await ctx.http.get('/metrics').expect(401);
    expect(none.body.error.slug).toBe('Metrics_Unauthorized');
    await ctx.http.get('/metrics').set('authorization', 'Bearer wrong-token-wrong-token').expect(401);
    await ctx.http.get('/metrics').set('x-api-key', ctx.apiKey).expect(401);
  });

  it('counts requests per route template, with errors by status code, never the URL', async () => {
    for (let i = 0; i < 3; i++) await ctx.http.get(`${V}/connected_accounts/${accountId}`).set('x-api-key', ctx.apiKey).expect(200);
    await ctx.http.get(`${V}/connected_accounts/ca_doesnotexist1`).set('x-api-key', ctx.apiKey).expect(404);
    await ctx.http.get('/no/such/route').expect(404);
    const text = (await scrape()).text;
    const route = '/api/v3.1/connected_accounts/:nanoid';
    expect(sample(text, 'latchkey_http_request_duration_seconds_count', { method: 'GET', route, status_code: '200' })).toBe(3);
    expect(sample(text, 'latchkey_http_request_duration_seconds_count', { method: 'GET', route, status_code: '404' })).toBe(1);
    expect(sample(text, 'latchkey_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBe(1);
    expect(sample(text, 'latchkey_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
  });

  it('reports accounts by status and toolkit, and no id, user or secret anywhere', async () => {
    const text = (await scrape()).text;
    expect(sample(text, 'latchkey_connected_accounts', { status: 'ACTIVE', toolkit: 'linear' })).toBe(1);
    for (const leak of [accountId, 'user-metrics-42', SECRET, ctx.apiKey, ctx.projectId, TOKEN]) expect(text).not.toContain(leak);
  });

  it('reports the outbox backlog and lag, and webhook delivery outcomes', async () => {
    await ctx.http.post(`${V}/webhook_subscriptions`).set('x-api-key', ctx.apiKey)
      .send({ webhook_url: receiver.url, enabled_events: ['composio.connected_account.disabled'] }).expect(201);
    await ctx.http.patch(`${V}/connected_accounts/${accountId}/status`).set('x-api-key', ctx.apiKey).send({ enabled: false }).expect(200);
    const before = (await scrape()).text;
    expect(sample(before, 'latchkey_outbox_backlog', { kind: 'events' })).toBeGreaterThanOrEqual(1);
    expect(sample(before, 'latchkey_outbox_lag_seconds', { kind: 'events' })).toBeGreaterThanOrEqual(0);

    for (let i = 0; i < 10 && receiver.received.length === 0; i++) await ctx.app.services.webhookDelivery.runOnce();
    expect(receiver.received.length).toBe(1);
    // Database readings are cached for a few seconds; the in-process counter is immediate.
    const after = (await scrape()).text;
    expect(sample(after, 'latchkey_webhook_delivery_attempts_total', { outcome: 'SUCCEEDED' })).toBe(1);
  });
});

describe('OAuth refresh outcomes', () => {
  let provider: MockProvider;
  let env: OAuthEnv;
  beforeAll(async () => {
    provider = await startProvider();
    env = await startOAuthEnv(provider, { METRICS_ENABLED: true });
  });
  afterAll(async () => {
    await env?.ctx.close();
    await provider?.stop();
  });

  it('are counted by outcome and by the bounded reason', async () => {
    const ok = await connect(env);
    await expireToken(env, ok.id);
    await getAccount(env, ok.id);

    const dead = await connect(env);
    await expireToken(env, dead.id);
    provider.nextToken(fail.invalidGrant());
    await getAccount(env, dead.id);

    const flaky = await connect(env);
    await expireToken(env, flaky.id);
    provider.nextToken(fail.status(503, 'some_vendor_specific_code'));
    await getAccount(env, flaky.id);

    const text = (await env.ctx.http.get('/metrics').expect(200)).text;
    expect(sample(text, 'latchkey_oauth_refresh_total', { outcome: 'refreshed', reason: 'none' })).toBe(1);
    expect(sample(text, 'latchkey_oauth_refresh_total', { outcome: 'expired', reason: 'invalid_grant' })).toBe(1);
    expect(sample(text, 'latchkey_oauth_refresh_total', { outcome: 'retrying', reason: 'other' })).toBe(1);
    expect(text).not.toContain('some_vendor_specific_code');
  });
});
