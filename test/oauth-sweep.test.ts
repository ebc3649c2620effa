/**
 * The background refresh sweep (`oauth.sweep`, run once a minute by the maintenance job) against a
 * real OAuth 2.0 provider on loopback: which accounts it asks the provider about, in which order,
 * how many at once, and what it leaves for the next run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MockProvider, startProvider } from './support/oauth-server.js';
import { type OAuthEnv, api, completeConsent, connect, startOAuthEnv, storedRow } from './support/oauth-app.js';

let provider: MockProvider;
let env: OAuthEnv;

beforeAll(async () => {
  provider = await startProvider();
  env = await startOAuthEnv(provider);
});
afterEach(() => provider.reset());
afterAll(async () => {
  await env?.ctx.close();
  await provider?.stop();
});

const sweep = (o: { batch: number; concurrency?: number; budgetMs?: number }) => env.ctx.app.services.oauth.sweep({ aheadMs: 60_000, ...o });

/** Refresh requests the provider received while `fn` ran, by the refresh token they carried. */
async function refreshesDuring<T>(fn: () => Promise<T>) {
  const from = provider.tokenCalls.length;
  const result = await fn();
  const calls = provider.tokenCalls.slice(from);
  expect(calls.every((c) => c.grant_type === 'refresh_token')).toBe(true);
  return { result, refreshTokens: calls.map((c) => c.refresh_token) };
}

/** A connected account whose token expired `minutesAgo`; without a refresh token when `refreshable` is false. */
async function expiredAccount(minutesAgo: number, refreshable = true) {
  if (!refreshable) provider.nextToken((res) => void (res.body && typeof res.body === 'object' && delete res.body.refresh_token));
  const { id, account } = await connect(env);
  await env.ctx.pool.query(`UPDATE connected_accounts SET token_expires_at = now() - $2::int * interval '1 minute' WHERE id = $1`, [id, minutesAgo]);
  return { id, refreshToken: account.state.val.refresh_token as string | undefined };
}

describe('the refresh sweep', () => {
  it('sets aside accounts with nothing to refresh with, so that they do not hold back the others', async () => {
    // Three accounts the provider gave no refresh token, expired before the one that can be refreshed:
    // the sweep takes the soonest expiry first, two a run here.
    const stuck = [await expiredAccount(3 * 24 * 60, false), await expiredAccount(2 * 24 * 60, false), await expiredAccount(2 * 24 * 60 - 1, false)];
    expect(stuck.map((a) => a.refreshToken)).toEqual([undefined, undefined, undefined]);
    const live = await expiredAccount(24 * 60);

    // Without a budget, a run is one batch.
    const first = await refreshesDuring(() => sweep({ batch: 2 }));
    expect(first.refreshTokens).toEqual([]);
    for (const a of stuck.slice(0, 2)) {
      const row = await storedRow(env, a.id);
      expect(row).toMatchObject({ status: 'ACTIVE', refresh_failures: 0, refresh_lease_until: null });
      expect(row.next_refresh_at!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    }

    // The next run reaches past them: the third stuck account, then the live one.
    const second = await refreshesDuring(() => sweep({ batch: 2 }));
    expect(second.refreshTokens).toEqual([live.refreshToken]);
    expect((await storedRow(env, live.id)).token_expires_at!.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect((await storedRow(env, stuck[2]!.id)).next_refresh_at!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);

    // Nothing is left due: a run asks the provider nothing and handles no account.
    const third = await refreshesDuring(() => sweep({ batch: 2 }));
    expect(third.refreshTokens).toEqual([]);
    expect(third.result.refreshed).toBe(0);

    // A new consent gives the account tokens again and ends its set-aside.
    const reauth = await api(env).post(`/connected_accounts/${stuck[0]!.id}/refresh`);
    expect(reauth.status, JSON.stringify(reauth.body)).toBe(200);
    expect((await completeConsent(reauth.body.redirect_url)).status).toBe(200);
    expect(await storedRow(env, stuck[0]!.id)).toMatchObject({ status: 'ACTIVE', next_refresh_at: null, refresh_failures: 0 });
  });

  it('goes on batch after batch, refreshing `concurrency` accounts at once, each once a run', async () => {
    const due = [];
    for (let i = 0; i < 7; i++) due.push(await expiredAccount(60 - i));
    // Every refreshed token lives 30 s, less than the sweep looks ahead (60 s): it is due again as
    // soon as it is written, and the run must not take it a second time.
    for (let i = 0; i < 7; i++) provider.nextToken((res) => void (res.body && (res.body.expires_in = 30)));
    provider.delayTokens(150);

    const run = await refreshesDuring(() => sweep({ batch: 3, concurrency: 3, budgetMs: 60_000 }));
    expect(run.result.refreshed).toBe(7);
    expect(run.refreshTokens.toSorted()).toEqual(due.map((a) => a.refreshToken).toSorted());
    expect(provider.mostTokensInFlight()).toBe(3);
    for (const a of due) {
      const row = await storedRow(env, a.id);
      expect(row.token_expires_at!.getTime()).toBeLessThan(Date.now() + 60_000);
      expect(row.refresh_failures).toBe(0);
    }

    // The next run finds them due again, as their tokens say.
    provider.reset();
    const next = await refreshesDuring(() => sweep({ batch: 10, concurrency: 2 }));
    expect(next.refreshTokens).toHaveLength(7);
    expect(provider.mostTokensInFlight()).toBeLessThanOrEqual(2);
  });

  it('an account that cannot be refreshed does not stop the others', async () => {
    await env.ctx.pool.query(`UPDATE connected_accounts SET token_expires_at = now() + interval '1 day'`);
    const broken = await expiredAccount(30);
    const due = [await expiredAccount(20), await expiredAccount(10)];
    // Its credentials no longer open (as after a key left the keyring too early).
    await env.ctx.pool.query(`UPDATE connected_accounts SET state = 'lk1.gone.AAAA.AAAA.AAAA' WHERE id = $1`, [broken.id]);
    const run = await refreshesDuring(() => sweep({ batch: 10, concurrency: 1 }));
    expect(run.refreshTokens.toSorted()).toEqual(due.map((a) => a.refreshToken).toSorted());
    expect(run.result.refreshed).toBe(2);
    expect(env.ctx.logs()).toContain(`token refresh sweep: an account could not be refreshed`);
  });

  it('starts no account once its time is up, and leaves the rest for the next run', async () => {
    await env.ctx.pool.query(`UPDATE connected_accounts SET token_expires_at = now() + interval '1 day'`);
    const due = [];
    for (let i = 0; i < 5; i++) due.push(await expiredAccount(10 - i));
    // Each token request takes longer than the run's budget: the two started at once finish, no
    // third is started.
    provider.delayTokens(1500);
    const run = await refreshesDuring(() => sweep({ batch: 10, concurrency: 2, budgetMs: 1000 }));
    expect(run.refreshTokens.toSorted()).toEqual([due[0]!.refreshToken, due[1]!.refreshToken].toSorted());
    provider.delayTokens(0);
    const rest = await refreshesDuring(() => sweep({ batch: 10 }));
    expect(rest.refreshTokens.toSorted()).toEqual(due.slice(2).map((a) => a.refreshToken).toSorted());
  });
});
