/**
 * OAuth2 connections end to end, over real HTTP: Latchkey listening on a loopback port, a real
 * OAuth 2.0 provider (oauth2-mock-server) on another, and the user's browser played with fetch
 * (authorize → provider redirect → Latchkey callback). Every request that reaches the provider's
 * token and revocation endpoints is recorded, so the tests can say exactly how many token requests
 * a scenario costs and what they carried.
 */
import { createHash } from 'node:crypto';
import { Composio } from '@composio/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MockProvider, type TokenScript, fail, startProvider } from './support/oauth-server.js';
import {
  CALLBACK_PATH,
  CLIENT,
  type OAuthEnv,
  accountCount,
  api,
  completeConsent,
  connect,
  consent,
  expireToken,
  getAccount,
  initiate,
  startOAuthEnv,
  startReplica,
  storedRow,
  visit,
} from './support/oauth-app.js';

const REASON = {
  timeout: 'Connection initiation did not complete within 2 seconds',
  permanent: 'Permanent auth error during token refresh',
  exchange: 'OAuth callback failed during token exchange',
  userRevoked: 'Revoked via user-initiated revoke endpoint',
  revokedOnDelete: 'Revoked as part of connection delete',
};
const BASE64URL_43 = /^[A-Za-z0-9_-]{43}$/;

let provider: MockProvider;
let env: OAuthEnv;
/** Logs of every Latchkey process started here, checked for secrets at the end. */
const allLogs: (() => string)[] = [];

beforeAll(async () => {
  provider = await startProvider();
  env = await startOAuthEnv(provider, { LOG_LEVEL: 'trace' });
  allLogs.push(env.ctx.logs);
});
afterEach(() => provider.reset());
afterAll(async () => {
  await env?.ctx.close();
  await provider?.stop();
});

/** Token requests made while `fn` runs. */
async function tokenCallsDuring<T>(fn: () => Promise<T>) {
  const from = provider.tokenCalls.length;
  const result = await fn();
  return { result, calls: provider.tokenCalls.slice(from) };
}

const val = (a: { state: { val: Record<string, unknown> } }) => a.state.val;
const envelope = (body: unknown) => (body as { error: { slug: string; status: number; message: string } }).error;

describe('connecting: authorization code with PKCE', () => {
  it('starts INITIATED with the provider authorize URL: client_id, redirect_uri, scope, a random state and an S256 challenge', async () => {
    const { id, redirectUrl, body } = await initiate(env);
    expect(body).toMatchObject({ id, status: 'INITIATED', redirect_url: redirectUrl, connectionData: { authScheme: 'OAUTH2', val: { status: 'INITIATED', redirectUrl } } });
    const url = new URL(redirectUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${provider.issuer}/authorize`);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toEqual({
      response_type: 'code',
      client_id: CLIENT.client_id,
      redirect_uri: `${env.baseUrl}${CALLBACK_PATH}`,
      scope: 'openid offline_access',
      state: expect.stringMatching(BASE64URL_43),
      code_challenge: expect.stringMatching(BASE64URL_43),
      code_challenge_method: 'S256',
    });
    expect(redirectUrl).not.toContain(CLIENT.client_secret);

    const other = new URL((await initiate(env)).redirectUrl).searchParams;
    expect(other.get('state')).not.toBe(q.state);
    expect(other.get('code_challenge')).not.toBe(q.code_challenge);
    expect((await getAccount(env, id)).status).toBe('INITIATED');
  });

  it('the callback exchanges the code once with the PKCE verifier; the account becomes ACTIVE with its tokens and an absolute expiry', async () => {
    const { id, redirectUrl } = await initiate(env);
    const challenge = new URL(redirectUrl).searchParams.get('code_challenge');
    const back = await consent(redirectUrl);
    expect(`${back.origin}${back.pathname}`).toBe(`${env.baseUrl}${CALLBACK_PATH}`);

    const started = Date.now();
    const { result: page, calls } = await tokenCallsDuring(() => visit(back));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('Connected');
    expect(page.text).toContain('Your Acme account is connected'); // the toolkit's display name

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: `${env.baseUrl}${CALLBACK_PATH}`, ...CLIENT });
    expect(createHash('sha256').update(call!.code_verifier!).digest('base64url')).toBe(challenge);

    const account = await getAccount(env, id);
    expect(account).toMatchObject({ id, status: 'ACTIVE', status_reason: null });
    const v = val(account);
    expect(v).toMatchObject({ status: 'ACTIVE', access_token: expect.any(String), refresh_token: expect.any(String), expires_in: 3600, token_type: expect.stringMatching(/^bearer$/i) });
    expect(v).not.toHaveProperty('redirectUrl');
    const expiresAt = Date.parse(String(v.expires_at));
    expect(expiresAt).toBeGreaterThanOrEqual(started + 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect((await storedRow(env, id)).token_expires_at?.getTime()).toBe(expiresAt);
  });

  it('redirects to the callback_url, keeping its own query, with the outcome', async () => {
    const callbackUrl = 'https://app.example.com/done?x=1';
    const { id, redirectUrl } = await initiate(env, { callback_url: callbackUrl });
    const landed = await completeConsent(redirectUrl);
    expect(landed.status).toBe(302);
    const to = new URL(landed.location!);
    expect(`${to.origin}${to.pathname}`).toBe('https://app.example.com/done');
    expect(Object.fromEntries(to.searchParams)).toEqual({ x: '1', status: 'success', connected_account_id: id, connection_status: 'ACTIVE', connectedAccountId: id });
    expect((await getAccount(env, id)).status).toBe('ACTIVE');
  });

  it('the callback answers under /api/v3.1 too', async () => {
    const { id, redirectUrl } = await initiate(env);
    const back = await consent(redirectUrl);
    back.pathname = back.pathname.replace('/api/v3/', '/api/v3.1/');
    expect((await visit(back)).status).toBe(200);
    expect((await getAccount(env, id)).status).toBe('ACTIVE');
  });

  it('stores the connection sealed: no token, code or verifier in clear in the database', async () => {
    const { id, account } = await connect(env);
    const { access_token, refresh_token, id_token } = val(account) as Record<string, string>;
    const call = provider.tokenCalls.at(-1)!;
    const row = await storedRow(env, id);
    for (const clear of [access_token!, refresh_token!, id_token!, 'access_token', 'refresh_token', call.code!, call.code_verifier!]) {
      expect(row.state).not.toContain(clear);
    }
    const attempts = await env.ctx.pool.query<{ code_verifier: string }>('SELECT code_verifier FROM oauth_attempts WHERE account_id = $1', [id]);
    expect(attempts.rows).toHaveLength(1);
    expect(attempts.rows[0]!.code_verifier).not.toContain(call.code_verifier!);
  });
});

describe('callback failures', () => {
  it('a denied consent fails the account with the provider error; the app is redirected with status=failed', async () => {
    const { id, redirectUrl } = await initiate(env, { callback_url: 'https://app.example.com/done?x=1' });
    provider.denyNextConsent('The user said no');
    const { result: landed, calls } = await tokenCallsDuring(() => completeConsent(redirectUrl));
    expect(calls).toEqual([]);
    expect(landed.status).toBe(302);
    expect(Object.fromEntries(new URL(landed.location!).searchParams)).toEqual({
      x: '1',
      status: 'failed',
      connected_account_id: id,
      connection_status: 'FAILED',
      connectedAccountId: id,
    });
    const account = await getAccount(env, id);
    expect(account).toMatchObject({ status: 'FAILED', status_reason: expect.stringContaining('access_denied') });
    expect(val(account)).toMatchObject({ error: 'access_denied', error_description: 'The user said no' });
  });

  it('a denied consent without callback_url shows a failure page', async () => {
    const { id, redirectUrl } = await initiate(env);
    provider.denyNextConsent('Nope');
    const page = await completeConsent(redirectUrl);
    expect(page.status).toBe(400);
    expect(page.text).toContain('Connection failed');
    expect(page.text).toContain('access_denied');
    expect((await getAccount(env, id)).status).toBe('FAILED');
  });

  it('a tampered state is a 400 page and leaves the account INITIATED (the real state still works)', async () => {
    const { id, redirectUrl } = await initiate(env);
    const back = await consent(redirectUrl);
    const state = back.searchParams.get('state')!;
    const tampered = new URL(back);
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);

    const { result: page, calls } = await tokenCallsDuring(() => visit(tampered));
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    expect(page.text).toContain('not valid');
    expect(calls).toEqual([]);
    expect((await getAccount(env, id)).status).toBe('INITIATED');

    expect((await visit(back)).status).toBe(200);
    expect((await getAccount(env, id)).status).toBe('ACTIVE');
  });

  it('a replayed callback is a 400 page; the account and its tokens are unaffected', async () => {
    const { id, redirectUrl } = await initiate(env, { callback_url: 'https://app.example.com/done' });
    const back = await consent(redirectUrl);
    const { result: first, calls } = await tokenCallsDuring(() => visit(back));
    expect(first.status).toBe(302);
    const connected = await getAccount(env, id);
    expect(connected.status).toBe('ACTIVE');

    const { result: replay, calls: more } = await tokenCallsDuring(() => visit(back));
    expect(replay.status).toBe(400);
    expect(replay.location).toBeNull();
    expect(replay.text).toContain('already used');
    expect(calls).toHaveLength(1);
    expect(more).toEqual([]);
    expect(await getAccount(env, id)).toEqual(connected);
  });

  it.each([
    // A 5xx body is not read as an OAuth error (RFC 6749 defines error bodies for 400/401 only).
    ['a 500', fail.status(500, 'server_error'), 'http_500'],
    ['invalid_grant', fail.invalidGrant(), 'invalid_grant'],
  ] as [string, TokenScript, string][])('a token endpoint failure at exchange (%s) fails the account', async (_name, script, error) => {
    const { id, redirectUrl } = await initiate(env, { callback_url: 'https://app.example.com/done' });
    provider.nextToken(script);
    const { result: landed, calls } = await tokenCallsDuring(() => completeConsent(redirectUrl));
    expect(calls).toHaveLength(1);
    expect(landed.status).toBe(302);
    expect(new URL(landed.location!).searchParams.get('status')).toBe('failed');
    const account = await getAccount(env, id);
    expect(account).toMatchObject({ status: 'FAILED', status_reason: REASON.exchange });
    expect(val(account)).toMatchObject({ error });
    expect(val(account)).not.toHaveProperty('access_token');
  });
});

describe('attempts that outlive their TTL', () => {
  let short: OAuthEnv;
  beforeAll(async () => {
    // Long enough that initiating and a first read fit inside it on a busy machine.
    short = await startOAuthEnv(provider, { oauthAttemptTtlMs: 2_000 });
    allLogs.push(short.ctx.logs);
  });
  afterAll(() => short?.ctx.close());
  const pastTtl = () => new Promise((r) => setTimeout(r, 2_300));

  it('a callback after the TTL fails the account without a token request', async () => {
    const { id, redirectUrl } = await initiate(short);
    const back = await consent(redirectUrl);
    await pastTtl();
    const { result: page, calls } = await tokenCallsDuring(() => visit(back));
    expect(calls).toEqual([]);
    expect(page.status).toBe(400);
    expect(page.text).toContain(REASON.timeout);
    expect(await storedRow(short, id)).toMatchObject({ status: 'FAILED', status_reason: REASON.timeout });
  });

  it('an abandoned INITIATED account reads as FAILED after the TTL', async () => {
    const { id } = await initiate(short);
    expect((await getAccount(short, id)).status).toBe('INITIATED');
    await pastTtl();
    expect(await getAccount(short, id)).toMatchObject({ id, status: 'FAILED', status_reason: REASON.timeout });
    expect((await storedRow(short, id)).status).toBe('FAILED');
  });
});

describe('refresh on read', () => {
  it('a token far from expiry is served as is, without a token request', async () => {
    const { id, account } = await connect(env);
    const { result, calls } = await tokenCallsDuring(() => getAccount(env, id));
    expect(calls).toEqual([]);
    expect(val(result).access_token).toBe(val(account).access_token);
  });

  it('an expired token is refreshed on GET; the rotated refresh token replaces the stored one', async () => {
    const { id, account } = await connect(env);
    const first = val(account) as Record<string, string>;

    await expireToken(env, id);
    const { result: second, calls } = await tokenCallsDuring(() => getAccount(env, id));
    expect(calls).toEqual([expect.objectContaining({ grant_type: 'refresh_token', refresh_token: first.refresh_token, ...CLIENT })]);
    const v2 = val(second) as Record<string, string>;
    expect(second.status).toBe('ACTIVE');
    expect(v2.access_token).toEqual(expect.any(String));
    expect(v2.access_token).not.toBe(first.access_token);
    expect(v2.refresh_token).not.toBe(first.refresh_token);
    expect(Date.parse(v2.expires_at!)).toBeGreaterThan(Date.now() + 3500_000);
    expect((await storedRow(env, id)).token_expires_at!.getTime()).toBe(Date.parse(v2.expires_at!));

    // The next refresh sends the rotated token.
    await expireToken(env, id);
    const { result: third, calls: next } = await tokenCallsDuring(() => getAccount(env, id));
    expect(next).toEqual([expect.objectContaining({ grant_type: 'refresh_token', refresh_token: v2.refresh_token })]);
    expect(val(third).access_token).not.toBe(v2.access_token);
  });

  it('a provider that does not rotate keeps the stored refresh token', async () => {
    const { id, account } = await connect(env);
    await expireToken(env, id);
    provider.nextToken((res) => {
      if (res.body) delete res.body.refresh_token;
    });
    const refreshed = await getAccount(env, id);
    expect(val(refreshed).access_token).not.toBe(val(account).access_token);
    expect(val(refreshed).refresh_token).toBe(val(account).refresh_token);
  });

  it('POST /refresh_token refreshes now, whatever the expiry', async () => {
    const { id, account } = await connect(env);
    const { result: res, calls } = await tokenCallsDuring(async () => api(env).post(`/connected_accounts/${id}/refresh_token`));
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect((res.body as { status: string }).status).toBe('ACTIVE');
    expect(val(res.body as { state: { val: Record<string, unknown> } }).access_token).not.toBe(val(account).access_token);
  });

  it('POST /refresh_token never answers the old token as new: a transient provider failure is a 502 saying so', async () => {
    const { id, account } = await connect(env);
    provider.nextToken(fail.status(503, 'temporarily_unavailable'));
    const { result: res, calls } = await tokenCallsDuring(async () => api(env).post(`/connected_accounts/${id}/refresh_token`));
    expect(calls).toHaveLength(1);
    expect(res.status, JSON.stringify(res.body)).toBe(502);
    const e = envelope(res.body);
    expect(e).toMatchObject({ slug: 'ConnectedAccount_ProviderError', status: 502 });
    expect(e.message).toContain('http_503');
    expect(e.message).toContain('unchanged');
    expect(JSON.stringify(res.body)).not.toContain(String(val(account).access_token));
    // The account keeps working on its old token, and backs off.
    const after = await getAccount(env, id);
    expect(after).toMatchObject({ status: 'ACTIVE', status_reason: null });
    expect(val(after).access_token).toBe(val(account).access_token);
    expect(await storedRow(env, id)).toMatchObject({ refresh_failures: 1, refresh_lease_until: null });
  });

  it('POST /refresh_token on a dead grant leaves the account EXPIRED and the answer says so', async () => {
    const { id, account } = await connect(env);
    provider.nextToken(fail.invalidGrant());
    const res = await api(env).post(`/connected_accounts/${id}/refresh_token`);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.headers['x-should-retry']).toBe('false');
    const e = envelope(res.body);
    expect(e).toMatchObject({ slug: 'ConnectedAccount_Expired', status: 409 });
    expect(e.message).toContain('invalid_grant');
    expect(e.message).toContain('EXPIRED');
    expect(JSON.stringify(res.body)).not.toContain(String(val(account).access_token));
    expect(await getAccount(env, id)).toMatchObject({ status: 'EXPIRED', status_reason: REASON.permanent });
    expect(await storedRow(env, id)).toMatchObject({ status: 'EXPIRED', refresh_lease_until: null });
    // Nothing left to refresh: a second call is refused without a token request.
    const { result: again, calls } = await tokenCallsDuring(async () => api(env).post(`/connected_accounts/${id}/refresh_token`));
    expect(calls).toEqual([]);
    expect(envelope(again.body)).toMatchObject({ slug: 'ConnectedAccount_InvalidTransition', status: 409 });
  });

  it('a permanent refresh failure (invalid_grant) expires the account at once', async () => {
    const { id } = await connect(env);
    await expireToken(env, id);
    provider.nextToken(fail.invalidGrant());
    const { result: account, calls } = await tokenCallsDuring(() => getAccount(env, id));
    expect(calls).toHaveLength(1);
    expect(account).toMatchObject({ status: 'EXPIRED', status_reason: REASON.permanent });
    expect(Number.isNaN(Date.parse(String(val(account).expired_at)))).toBe(false);
    expect(await storedRow(env, id)).toMatchObject({ status: 'EXPIRED', refresh_lease_until: null });
    // Nothing more to try: later reads do not call the provider.
    expect((await tokenCallsDuring(() => getAccount(env, id))).calls).toEqual([]);
  });

  it('transient refresh failures (500, then 429) keep the account ACTIVE with its token and back off', async () => {
    const { id, account } = await connect(env);
    const token = val(account).access_token;
    await expireToken(env, id);

    provider.nextToken(fail.status(500, 'server_error'));
    let before = Date.now();
    const { result: afterFirst, calls } = await tokenCallsDuring(() => getAccount(env, id));
    expect(calls).toHaveLength(1);
    expect(afterFirst).toMatchObject({ status: 'ACTIVE', status_reason: null });
    expect(val(afterFirst).access_token).toBe(token);
    let row = await storedRow(env, id);
    expect(row).toMatchObject({ status: 'ACTIVE', refresh_failures: 1, refresh_lease_until: null });
    // 15 s with jitter (x0.5 to x1).
    expect(row.next_refresh_at!.getTime()).toBeGreaterThanOrEqual(before + 7_000);
    expect(row.next_refresh_at!.getTime()).toBeLessThanOrEqual(Date.now() + 15_000);

    // While backing off, reads do not call the provider.
    expect((await tokenCallsDuring(() => getAccount(env, id))).calls).toEqual([]);

    // Backoff over: a 429 counts as transient too, and the delay doubles.
    await env.ctx.pool.query(`UPDATE connected_accounts SET next_refresh_at = now() - interval '1 second' WHERE id = $1`, [id]);
    provider.nextToken(fail.status(429, 'slow_down'));
    before = Date.now();
    const afterSecond = await getAccount(env, id);
    expect(afterSecond.status).toBe('ACTIVE');
    expect(val(afterSecond).access_token).toBe(token);
    row = await storedRow(env, id);
    expect(row.refresh_failures).toBe(2);
    expect(row.next_refresh_at!.getTime()).toBeGreaterThanOrEqual(before + 14_000);
    expect(row.next_refresh_at!.getTime()).toBeLessThanOrEqual(Date.now() + 30_000);

    // A success clears the failure count.
    await env.ctx.pool.query(`UPDATE connected_accounts SET next_refresh_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const recovered = await getAccount(env, id);
    expect(val(recovered).access_token).not.toBe(token);
    expect(await storedRow(env, id)).toMatchObject({ refresh_failures: 0, next_refresh_at: null });
  });
});

describe('refresh across replicas', () => {
  let replica: Awaited<ReturnType<typeof startReplica>>;
  beforeAll(async () => {
    replica = await startReplica(env);
    allLogs.push(replica.logs);
  });
  afterAll(() => replica?.close());

  /** `n` concurrent requests for one account, alternating between the two replicas. */
  async function everywhere(n: number, method: 'GET' | 'POST', path: string) {
    const responses = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await fetch(`${i % 2 ? replica.baseUrl : env.baseUrl}/api/v3.1${path}`, { method, headers: { 'x-api-key': env.ctx.apiKey } });
        return { status: res.status, body: (await res.json()) as { status: string; state: { val: Record<string, unknown> } } };
      }),
    );
    for (const r of responses) expect(r.status, JSON.stringify(r.body)).toBe(200);
    return responses.map((r) => r.body);
  }
  const readEverywhere = (id: string, n: number) => everywhere(n, 'GET', `/connected_accounts/${id}`);

  it('50 concurrent reads of an expired token on two replicas make exactly one token request, and all see its result', async () => {
    const { id, account } = await connect(env);
    await expireToken(env, id);
    provider.delayTokens(300);
    const { result: bodies, calls } = await tokenCallsDuring(() => readEverywhere(id, 50));
    expect(calls).toHaveLength(1);
    const tokens = new Set(bodies.map((b) => b.state.val.access_token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(val(account).access_token);
    expect(bodies.every((b) => b.status === 'ACTIVE')).toBe(true);
    expect((await storedRow(env, id)).refresh_lease_until).toBeNull();
  });

  it('a transient failure is not retried by the readers that waited for it: one token request, then backoff', async () => {
    const { id, account } = await connect(env);
    await expireToken(env, id);
    provider.delayTokens(300);
    provider.nextToken(fail.status(503, 'temporarily_unavailable'), fail.status(503, 'temporarily_unavailable'));
    const { result: bodies, calls } = await tokenCallsDuring(() => readEverywhere(id, 10));
    expect(calls).toHaveLength(1);
    for (const b of bodies) expect(b).toMatchObject({ status: 'ACTIVE', state: { val: { access_token: val(account).access_token } } });
    expect((await storedRow(env, id)).refresh_failures).toBe(1);
  });

  it('concurrent POST /refresh_token on both replicas is one token request too', async () => {
    const { id, account } = await connect(env);
    provider.delayTokens(300);
    const { result: bodies, calls } = await tokenCallsDuring(() => everywhere(10, 'POST', `/connected_accounts/${id}/refresh_token`));
    expect(calls).toHaveLength(1);
    const tokens = new Set(bodies.map((b) => b.state.val.access_token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(val(account).access_token);
  });

  it('POST /refresh_token refreshes during a backoff (an explicit request), once', async () => {
    const { id, account } = await connect(env);
    await expireToken(env, id);
    provider.nextToken(fail.status(500, 'server_error'));
    await getAccount(env, id);
    expect((await storedRow(env, id)).next_refresh_at).not.toBeNull();
    provider.delayTokens(300);
    const { result: bodies, calls } = await tokenCallsDuring(() => everywhere(2, 'POST', `/connected_accounts/${id}/refresh_token`));
    expect(calls).toHaveLength(1);
    for (const b of bodies) expect(b.state.val.access_token).not.toBe(val(account).access_token);
    expect(await storedRow(env, id)).toMatchObject({ refresh_failures: 0, next_refresh_at: null });
  });
});

describe('re-authorisation', () => {
  async function reauthorise(id: string) {
    const res = await api(env).post(`/connected_accounts/${id}/refresh`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as { id: string; status: string; redirect_url: string };
    expect(body).toEqual({ id, status: 'INITIATED', redirect_url: expect.stringContaining(`${provider.issuer}/authorize?`) });
    expect((await getAccount(env, id)).status).toBe('INITIATED');
    const page = await completeConsent(body.redirect_url);
    expect(page.status, page.text).toBe(200);
    return getAccount(env, id);
  }

  it('an ACTIVE account gets a new consent under the same id, with new tokens', async () => {
    const { id, account } = await connect(env);
    const count = await accountCount(env);
    const after = await reauthorise(id);
    expect(after).toMatchObject({ id, status: 'ACTIVE', status_reason: null });
    expect(val(after).access_token).not.toBe(val(account).access_token);
    expect(val(after).refresh_token).not.toBe(val(account).refresh_token);
    expect(val(after)).not.toHaveProperty('redirectUrl');
    expect(await accountCount(env)).toBe(count);
  });

  it('an EXPIRED account becomes ACTIVE again under the same id', async () => {
    const { id } = await connect(env);
    await expireToken(env, id);
    provider.nextToken(fail.invalidGrant());
    expect((await getAccount(env, id)).status).toBe('EXPIRED');
    const count = await accountCount(env);
    const after = await reauthorise(id);
    expect(after).toMatchObject({ id, status: 'ACTIVE', status_reason: null });
    expect(val(after)).not.toHaveProperty('expired_at');
    expect(await accountCount(env)).toBe(count);
  });
  it.each([
    ['the query (as the SDK sends it)', (id: string, to: string) => api(env).post(`/connected_accounts/${id}/refresh?redirect_url=${encodeURIComponent(to)}`, {})],
    ['the body', (id: string, to: string) => api(env).post(`/connected_accounts/${id}/refresh`, { redirect_url: to })],
  ])('honours redirect_url in %s: the callback then sends the browser there', async (_where, refresh) => {
    const { id } = await connect(env, { callback_url: 'https://app.example.com/first' });
    const to = 'https://app.example.com/reconnected?step=2';
    const res = await refresh(id, to);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const landed = await completeConsent((res.body as { redirect_url: string }).redirect_url);
    expect(landed.status, landed.text).toBe(302);
    const at = new URL(landed.location!);
    expect(`${at.origin}${at.pathname}`).toBe('https://app.example.com/reconnected');
    expect(Object.fromEntries(at.searchParams)).toMatchObject({ step: '2', status: 'success', connected_account_id: id });
    expect((await getAccount(env, id)).status).toBe('ACTIVE');
  });

  it('the SDK\'s refresh(id, {redirectUrl}) reaches the callback redirect', async () => {
    const { id } = await connect(env);
    const composio = new Composio({ apiKey: env.ctx.apiKey, baseURL: env.baseUrl, allowTracking: false, disableVersionCheck: true });
    const to = 'https://app.example.com/sdk-back';
    const r = (await composio.connectedAccounts.refresh(id, { redirectUrl: to })) as { redirect_url?: string | null };
    const landed = await completeConsent(r.redirect_url!);
    expect(landed.status, landed.text).toBe(302);
    expect(landed.location).toMatch(/^https:\/\/app\.example\.com\/sdk-back\?/);
  });

  it('only the newest consent completes the account: an earlier, unused one is dead', async () => {
    const { id } = await connect(env);
    const first = (await api(env).post(`/connected_accounts/${id}/refresh`)).body as { redirect_url: string };
    const second = (await api(env).post(`/connected_accounts/${id}/refresh`)).body as { redirect_url: string };
    const stale = await completeConsent(first.redirect_url);
    expect(stale.status).toBe(400);
    expect((await getAccount(env, id)).status).toBe('INITIATED');
    expect((await completeConsent(second.redirect_url)).status).toBe(200);
    expect((await getAccount(env, id)).status).toBe('ACTIVE');
  });
});

describe('revocation', () => {
  it('revokes both tokens at the provider and marks the account REVOKED; a second call revokes nothing', async () => {
    const { id, account } = await connect(env);
    const { access_token, refresh_token } = val(account);
    const seen = (await provider.revocations()).length;

    const res = await api(env).post(`/connected_accounts/${id}/revoke`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ revoked_tokens: expect.arrayContaining(['access_token', 'refresh_token']), connected_account: { id, status: 'REVOKED' } });
    expect((res.body as { revoked_tokens: string[] }).revoked_tokens).toHaveLength(2);
    const received = (await provider.revocations()).slice(seen);
    expect(received).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ token: refresh_token, token_type_hint: 'refresh_token', client_id: CLIENT.client_id }),
        expect.objectContaining({ token: access_token, token_type_hint: 'access_token', client_id: CLIENT.client_id }),
      ]),
    );
    expect(received).toHaveLength(2);

    const revoked = await getAccount(env, id);
    expect(revoked).toMatchObject({ status: 'REVOKED', status_reason: REASON.userRevoked });
    expect(val(revoked)).not.toHaveProperty('access_token');
    expect(val(revoked)).not.toHaveProperty('refresh_token');

    const again = await api(env).post(`/connected_accounts/${id}/revoke`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ revoked_tokens: [], connected_account: { id, status: 'REVOKED' } });
    expect(await provider.revocations()).toHaveLength(seen + 2);
  });

  it('a grant already dead at the provider (invalid_token on the second token) still ends REVOKED', async () => {
    const { id, account } = await connect(env);
    const seen = (await provider.revocations()).length;
    // Revoking the refresh token killed the grant; the provider then calls the access token invalid.
    provider.nextRevoke(200, { status: 400, error: 'invalid_token' });
    const res = await api(env).post(`/connected_accounts/${id}/revoke`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ revoked_tokens: ['refresh_token'], connected_account: { id, status: 'REVOKED' } });
    expect((await provider.revocations()).slice(seen).map((r) => r.token)).toEqual([val(account).refresh_token, val(account).access_token]);
    const after = await getAccount(env, id);
    expect(after).toMatchObject({ status: 'REVOKED', status_reason: REASON.userRevoked });
    expect(val(after)).not.toHaveProperty('access_token');
  });

  it('a refusal that is not about a dead token (invalid_client) is a 502 and leaves the account ACTIVE', async () => {
    const { id } = await connect(env);
    provider.nextRevoke({ status: 400, error: 'invalid_client' });
    const res = await api(env).post(`/connected_accounts/${id}/revoke`);
    expect(res.status, JSON.stringify(res.body)).toBe(502);
    expect(envelope(res.body)).toMatchObject({ slug: 'ConnectedAccount_ProviderError' });
    expect((await getAccount(env, id)).status).toBe('ACTIVE');
  });

  it('refuses an account that is not ACTIVE with a final 409', async () => {
    const { id } = await initiate(env);
    const res = await api(env).post(`/connected_accounts/${id}/revoke`);
    expect(res.status).toBe(409);
    expect(res.headers['x-should-retry']).toBe('false');
    expect(envelope(res.body)).toMatchObject({ slug: 'ConnectedAccount_InvalidTransition', status: 409 });
    expect((await getAccount(env, id)).status).toBe('INITIATED');
  });

  it('a provider failure during revocation is a 502 and leaves the account ACTIVE', async () => {
    const { id, account } = await connect(env);
    provider.nextRevoke(503);
    const res = await api(env).post(`/connected_accounts/${id}/revoke`);
    expect(res.status).toBe(502);
    expect(envelope(res.body)).toMatchObject({ slug: 'ConnectedAccount_ProviderError', status: 502 });
    const after = await getAccount(env, id);
    expect(after.status).toBe('ACTIVE');
    expect(val(after).access_token).toBe(val(account).access_token);
  });

  it('DELETE ?revoke_on_delete=true revokes at the provider, then deletes', async () => {
    const { id, account } = await connect(env);
    const seen = (await provider.revocations()).length;
    const res = await api(env).delete(`/connected_accounts/${id}?revoke_on_delete=true`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ success: true });
    const tokens = (await provider.revocations()).slice(seen).map((r) => r.token);
    expect(tokens.sort()).toEqual([val(account).access_token, val(account).refresh_token].sort());
    expect((await api(env).get(`/connected_accounts/${id}`)).status).toBe(404);
    const row = await storedRow(env, id);
    expect(row).toMatchObject({ status: 'REVOKED', status_reason: REASON.revokedOnDelete });
    expect(row.deleted_at).not.toBeNull();
  });
});

describe('plain-HTTP providers', () => {
  it('are refused unless OAUTH_ALLOW_INSECURE_LOOPBACK is set: a clear 400 and no account', async () => {
    // Loopback addresses allowed (EGRESS_ALLOW_PRIVATE_ADDRESSES), so the toolkit saves: plain HTTP is still refused.
    const strict = await startOAuthEnv(provider, { OAUTH_ALLOW_INSECURE_LOOPBACK: false, EGRESS_ALLOW_PRIVATE_ADDRESSES: true });
    try {
      const res = await api(strict).post('/connected_accounts', { auth_config: { id: strict.authConfigId }, connection: { user_id: 'u' } });
      expect(res.status).toBe(400);
      expect(envelope(res.body)).toMatchObject({ slug: 'ConnectedAccount_InvalidRequest', message: expect.stringContaining('plain-HTTP') });
      expect(await accountCount(strict)).toBe(0);
    } finally {
      await strict.ctx.close();
    }
  });
});

describe('the official SDK', () => {
  it('initiate returns the redirect URL; after the browser part, waitForConnection resolves ACTIVE', async () => {
    const printed: unknown[][] = [];
    const spies = (['warn', 'error'] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void printed.push(args)));
    try {
      const composio = new Composio({ apiKey: env.ctx.apiKey, baseURL: env.baseUrl, allowTracking: false, disableVersionCheck: true });
      const request = await composio.connectedAccounts.initiate('sdk-user', env.authConfigId);
      expect(request.status).toBe('INITIATED');
      expect(request.redirectUrl).toEqual(expect.stringContaining(`${provider.issuer}/authorize?`));

      const waiting = request.waitForConnection(20_000);
      const page = await completeConsent(request.redirectUrl!);
      expect(page.status).toBe(200);
      const account = await waiting;
      expect(account).toMatchObject({ id: request.id, status: 'ACTIVE', toolkit: { slug: 'acme' }, authConfig: { id: env.authConfigId, authScheme: 'OAUTH2' } });
      expect(account.state).toMatchObject({ authScheme: 'OAUTH2', val: { status: 'ACTIVE', access_token: expect.any(String) } });
      expect(printed, 'the SDK printed warnings or errors').toEqual([]);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });
});

describe('logs', () => {
  it('never contain a code, a state, an access, refresh or ID token', () => {
    expect(provider.secrets.size).toBeGreaterThan(50);
    const logs = allLogs.map((l) => l()).join('\n');
    expect(logs).toContain('/toolkits/auth/callback');
    for (const secret of provider.secrets) expect(logs.includes(secret), `logs contain ${secret.slice(0, 12)}…`).toBe(false);
    expect(logs).not.toContain(CLIENT.client_secret);
  });
});
