/**
 * Verified callbacks (complete_auth) end to end: a project sets a verifier URL; the OAuth callback
 * (OAUTH2 against a real OAuth 2.0 provider, OAUTH1 and DCR_OAUTH against their loopback servers)
 * then parks the grant and sends the browser to the verifier with a single-use session_uri; the
 * app's server redeems it for the user it signed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockProvider, startProvider } from './support/oauth-server.js';
import { type OAuthEnv, api, consent, initiate, startOAuthEnv, visit } from './support/oauth-app.js';
import { type OAuth1Provider, startOAuth1Provider } from './support/oauth1-provider.js';
import { type McpAuthServer, startMcpAuthServer } from './support/mcp-auth-server.js';
import { createAuthConfig, createToolkit, oauth1Toolkit } from './support/redirect-env.js';

const VERIFIER = 'https://app.example/verify?from=latchkey';
const SESSION = /^urn:latchkey:callback-session:[A-Za-z0-9_-]{43}$/;

let provider: MockProvider;
let oauth1: OAuth1Provider;
let mcp: McpAuthServer;
let env: OAuthEnv;
const configs: Record<string, string> = {};

beforeAll(async () => {
  provider = await startProvider();
  oauth1 = await startOAuth1Provider({ consumer: { secret: 'consumer-secret' } });
  mcp = await startMcpAuthServer();
  env = await startOAuthEnv(provider);
  const redirectEnv = { ctx: env.ctx, baseUrl: env.baseUrl };
  await createToolkit(redirectEnv, oauth1Toolkit('tinyprov', oauth1.url));
  configs.OAUTH2 = env.authConfigId;
  configs.OAUTH1 = await createAuthConfig(redirectEnv, 'tinyprov', 'OAUTH1', { consumer_key: 'consumer', consumer_secret: 'consumer-secret' });
  configs.DCR_OAUTH = await createAuthConfig(redirectEnv, 'mcp', 'DCR_OAUTH', { mcp_url: mcp.resource });
  await env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, VERIFIER);
});
afterAll(async () => {
  await env?.ctx.close();
  await provider?.stop();
  await oauth1?.close();
  await mcp?.close();
});

type Account = { id: string; status: string; status_reason: string | null; state: { val: Record<string, unknown> } };
const account = async (id: string) => (await api(env).get(`/connected_accounts/${id}`)).body as Account;
const completeAuth = (body: object, version = 'v3.1', key = env.ctx.apiKey) =>
  env.ctx.http.post(`/api/${version}/connected_accounts/complete_auth`).set('x-api-key', key).send(body);

/** Connects through the verifier: the browser ends at the verifier; returns the session_uri it carries. */
async function parkedConnection(scheme: string) {
  const { id, redirectUrl } = await initiate({ ...env, authConfigId: configs[scheme]! }, { user_id: 'ada' });
  const landed = await visit(await consent(redirectUrl));
  expect(landed.status, landed.text).toBe(302);
  const at = new URL(landed.location!);
  expect(`${at.origin}${at.pathname}`).toBe('https://app.example/verify');
  expect(at.searchParams.get('from')).toBe('latchkey');
  expect(at.searchParams.get('connected_account_id')).toBe(id);
  const sessionUri = at.searchParams.get('session_uri')!;
  expect(sessionUri).toMatch(SESSION);
  return { id, sessionUri };
}

describe.each(['OAUTH2', 'OAUTH1', 'DCR_OAUTH'])('verified callback, %s', (scheme) => {
  it('parks the grant (account INITIATED, no tokens shown), then complete_auth activates it for the right user only', async () => {
    const { id, sessionUri } = await parkedConnection(scheme);
    const parked = await account(id);
    expect(parked.status).toBe('INITIATED');
    expect(parked.status_reason).toContain('complete_auth');
    expect(parked.state.val).not.toHaveProperty('access_token');
    expect(parked.state.val.oauth_verifier).toBeUndefined();

    // The wrong user: 400, and the session stays usable for the right one.
    const wrong = await completeAuth({ session_uri: sessionUri, user_id: 'mallory' });
    expect(wrong.status).toBe(400);
    expect((await account(id)).status).toBe('INITIATED');

    const ok = await completeAuth({ session_uri: sessionUri, user_id: 'ada' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toEqual({
      connected_account_id: id,
      toolkit_slug: scheme === 'OAUTH2' ? 'acme' : scheme === 'OAUTH1' ? 'tinyprov' : 'mcp',
      connected_account: {
        id,
        user_id: 'ada',
        status: 'ACTIVE',
        toolkit: { slug: scheme === 'OAUTH2' ? 'acme' : scheme === 'OAUTH1' ? 'tinyprov' : 'mcp' },
        auth_config: { id: configs[scheme], auth_scheme: scheme, is_composio_managed: false },
      },
    });
    const active = await account(id);
    expect(active.status).toBe('ACTIVE');
    expect(active.status_reason).toBeNull();
    expect(active.state.val[scheme === 'OAUTH1' ? 'oauth_token' : 'access_token']).toEqual(expect.any(String));

    // Single use.
    expect((await completeAuth({ session_uri: sessionUri, user_id: 'ada' })).status).toBe(404);
  });
});

describe('complete_auth', () => {
  it('unknown, malformed, expired and another project\'s sessions are all 404; the /api/v3 alias answers too', async () => {
    const { id, sessionUri } = await parkedConnection('OAUTH2');
    expect((await completeAuth({ session_uri: `urn:latchkey:callback-session:${'A'.repeat(43)}`, user_id: 'ada' })).status).toBe(404);
    expect((await completeAuth({ session_uri: 'not-a-session', user_id: 'ada' })).status).toBe(404);
    const other = await env.ctx.newProject();
    expect((await completeAuth({ session_uri: sessionUri, user_id: 'ada' }, 'v3.1', other.apiKey)).status).toBe(404);
    expect((await completeAuth({ session_uri: sessionUri, user_id: 'ada' }, 'v3')).status).toBe(200);
    expect((await account(id)).status).toBe('ACTIVE');

    const late = await parkedConnection('OAUTH2');
    await env.ctx.pool.query(`UPDATE callback_sessions SET expires_at = now() - interval '1 second'`);
    expect((await completeAuth({ session_uri: late.sessionUri, user_id: 'ada' })).status).toBe(404);
    expect((await account(late.id)).status).toBe('INITIATED');
  });

  it('a re-authorisation after parking makes the parked grant stale (409), the newer consent decides', async () => {
    const { id, sessionUri } = await parkedConnection('OAUTH2');
    const again = await api(env).post(`/connected_accounts/${id}/refresh`);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const stale = await completeAuth({ session_uri: sessionUri, user_id: 'ada' });
    expect(stale.status).toBe(409);
    expect((await account(id)).status).toBe('INITIATED');
  });

  it('two concurrent redemptions: exactly one activates', async () => {
    const { sessionUri } = await parkedConnection('OAUTH2');
    const answers = await Promise.all([1, 2, 3].map(() => completeAuth({ session_uri: sessionUri, user_id: 'ada' })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 404, 404]);
  });

  it('the grant is sealed at rest and only an HMAC of the session_uri is stored', async () => {
    const { sessionUri } = await parkedConnection('OAUTH2');
    const { rows } = await env.ctx.pool.query<{ hash: Buffer; pending_grant: string }>('SELECT hash, pending_grant FROM callback_sessions ORDER BY created_at DESC LIMIT 1');
    expect(rows[0]!.pending_grant).toMatch(/^lk1\./);
    expect(rows[0]!.pending_grant).not.toContain('access_token');
    expect(rows[0]!.hash.toString('utf8')).not.toContain(sessionUri.slice(-43));
  });

  it('bad input is a 400 in the envelope; the verifier setting refuses what is not a URL', async () => {
    const res = await completeAuth({ session_uri: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error.slug).toBe('Request_ValidationError');
    await expect(env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, 'javascript:alert(1)')).rejects.toThrow(/URL/);
    await expect(env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, 'http://app.example/verify')).rejects.toThrow(/https/);
  });

  it('with the setting cleared, the callback activates at once again', async () => {
    const { id, redirectUrl } = await initiate(env, { user_id: 'ada' });
    // This project still verifies: parked.
    expect((await visit(await consent(redirectUrl))).status).toBe(302);
    expect((await account(id)).status).toBe('INITIATED');
    await env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, '');
    const second = await initiate(env, { user_id: 'ada' });
    expect((await visit(await consent(second.redirectUrl))).status).toBe(200);
    expect((await account(second.id)).status).toBe('ACTIVE');
    await env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, VERIFIER);
  });
});
