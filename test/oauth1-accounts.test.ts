/**
 * OAUTH1 connected accounts end to end: Latchkey listening on loopback, an OAuth 1.0a provider that
 * verifies every signature with its own implementation of RFC 5849 (HMAC-SHA1, RSA-SHA1,
 * PLAINTEXT), and the user's browser played with fetch (authorize → provider redirect → callback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OAuth1Provider, startOAuth1Provider } from './support/oauth1-provider.js';
import { rsaKeyPair } from './support/token-endpoints.js';
import {
  type Account,
  accountCount,
  call,
  consentAndReturn,
  createAuthConfig,
  createToolkit,
  initiateAccount,
  oauth1Toolkit,
  readAccount,
  type RedirectEnv,
  startRedirectEnv,
  visit,
} from './support/redirect-env.js';

const rsa = rsaKeyPair();
const CONSUMERS = {
  'HMAC-SHA1': { consumer_key: 'hmac-consumer', consumer_secret: 'kd94hf93k423kf44 & more!' },
  'RSA-SHA1': { consumer_key: 'rsa-consumer', private_key: rsa.privatePem, signature_method: 'RSA-SHA1' },
  PLAINTEXT: { consumer_key: 'pt-consumer', consumer_secret: 'pt-secret', signature_method: 'PLAINTEXT' },
};

let provider: OAuth1Provider;
let unconfirmed: OAuth1Provider;
let env: RedirectEnv;
const configs: Record<string, string> = {};


beforeAll(async () => {
  provider = await startOAuth1Provider({
    'hmac-consumer': { secret: CONSUMERS['HMAC-SHA1'].consumer_secret },
    'rsa-consumer': { publicKey: rsa.publicKey },
    'pt-consumer': { secret: 'pt-secret' },
  });
  unconfirmed = await startOAuth1Provider({ 'hmac-consumer': { secret: CONSUMERS['HMAC-SHA1'].consumer_secret } }, { confirmCallback: false });
  // The proxy's own guard refuses loopback providers unless private addresses are allowed.
  env = await startRedirectEnv({ EGRESS_ALLOW_PRIVATE_ADDRESSES: true });
  await createToolkit(env, oauth1Toolkit('tinyprov', provider.url));
  await createToolkit(env, oauth1Toolkit('oldprov', unconfirmed.url));
  for (const [method, creds] of Object.entries(CONSUMERS)) configs[method] = await createAuthConfig(env, 'tinyprov', 'OAUTH1', creds);
});
afterAll(async () => {
  await env?.ctx.close();
  await provider?.close();
  await unconfirmed?.close();
});

const initiate = (authConfigId: string, connection: Record<string, unknown> = {}) => initiateAccount(env, authConfigId, { connection });
const getAccount = (id: string) => readAccount(env, id);

describe.each(Object.keys(CONSUMERS))('OAUTH1 with %s', (method) => {
  it('create → INITIATED with the contract fields → consent → callback → ACTIVE, and auth_params signs requests the provider accepts', async () => {
    const created = await initiate(configs[method]!);
    expect(created.status).toBe('INITIATED');
    const val = created.connectionData.val;
    expect(created.connectionData.authScheme).toBe('OAUTH1');
    expect(val).toMatchObject({ status: 'INITIATED', oauth_token: expect.stringMatching(/^rt-/), oauth_token_secret: expect.any(String), authUri: created.redirect_url, redirectUrl: created.redirect_url });
    const authorize = new URL(created.redirect_url);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${provider.url}/oauth/authorize`);
    expect(authorize.searchParams.get('oauth_token')).toBe(val.oauth_token);

    const landed = await consentAndReturn(created.redirect_url);
    expect(landed.status, landed.text).toBe(200);
    expect(landed.text).toContain('is connected');

    const account = await getAccount(created.id);
    expect(account.status).toBe('ACTIVE');
    expect(account.state.val).toMatchObject({
      status: 'ACTIVE',
      oauth_token: expect.stringMatching(/^at-/),
      oauth_token_secret: expect.any(String),
      oauth_verifier: expect.any(String),
      consumer_key: CONSUMERS[method as keyof typeof CONSUMERS].consumer_key,
      user_id: '42',
      screen_name: 'ada',
    });
    expect(account.state.val).not.toHaveProperty('authUri');

    // A POST with a query, signed for exactly that request.
    const target = `${provider.url}/api/me?count=2&q=${encodeURIComponent('a b/ü')}`;
    const params = await call(env).get(`/connected_accounts/${created.id}/auth_params?method=POST&url=${encodeURIComponent(target)}`);
    expect(params.status, JSON.stringify(params.body)).toBe(200);
    const header = (params.body as { parameters: { name: string; value: string }[] }).parameters.find((p) => p.name === 'Authorization')!;
    expect(header.value).toMatch(/^OAuth /);
    expect(header.value).toContain(`oauth_signature_method="${method}"`);
    const res = await fetch(target, { method: 'POST', headers: { authorization: header.value } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: '42', query: { q: 'a b/ü' } });

    // The same header for another method is refused: the signature covers the method.
    const replay = await fetch(target, { method: 'GET', headers: { authorization: header.value } });
    expect(replay.status).toBe(401);
  });
});

describe('OAUTH1 details', () => {
  it('the temporary and token secrets are sealed at rest, and masked for a masked key', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    await consentAndReturn(created.redirect_url);
    const account = await getAccount(created.id);
    const { rows } = await env.ctx.pool.query<{ state: string }>('SELECT state FROM connected_accounts WHERE id = $1', [created.id]);
    expect(rows[0]!.state).not.toContain(String(account.state.val.oauth_token_secret));
    expect(rows[0]!.state).not.toContain(String(account.state.val.oauth_token));

    const key = await env.ctx.app.services.projects.createKey(env.ctx.projectId, 'masked', { masked: true });
    const masked = await call(env, key.apiKey).get(`/connected_accounts/${created.id}`);
    expect((masked.body as Account).state.val).toMatchObject({ oauth_token_secret: '********', oauth_token: '********', consumer_key: 'hmac-consumer' });
    const params = await call(env, key.apiKey).get(`/connected_accounts/${created.id}/auth_params`);
    expect((params.body as { parameters: { name: string; value: string }[] }).parameters).toContainEqual({ name: 'Authorization', in: 'header', value: '********' });
  });

  it('the app callback_url gets the browser with the outcome, and callbackUrl is on the INITIATED state', async () => {
    const created = await initiate(configs['HMAC-SHA1']!, { callback_url: 'https://app.example/done?x=1' });
    expect(created.connectionData.val).toMatchObject({ callbackUrl: 'https://app.example/done?x=1' });
    const landed = await consentAndReturn(created.redirect_url);
    expect(landed.status).toBe(302);
    const back = new URL(landed.location!);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({ x: '1', status: 'success', connected_account_id: created.id });
  });

  it('auth_params refuses to sign for another host; without a URL it signs GET on the base URL', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    await consentAndReturn(created.redirect_url);
    const other = await call(env).get(`/connected_accounts/${created.id}/auth_params?url=${encodeURIComponent('https://elsewhere.example/x')}`);
    expect(other.status).toBe(400);
    const plain = await call(env).get(`/connected_accounts/${created.id}/auth_params`);
    expect(plain.status).toBe(200);
    const body = plain.body as { base_url: string; parameters: { name: string; value: string }[] };
    expect(body.base_url).toBe(`${provider.url}/api`);
    const res = await fetch(body.base_url, { headers: { authorization: body.parameters.find((p) => p.name === 'Authorization')!.value } });
    // Signed correctly for that URL: the provider gets past the signature check to its 404.
    expect(res.status).toBe(404);
  });

  it('a wrong consumer secret: the provider refuses the request token → 400 naming its problem, nothing created', async () => {
    const bad = await createAuthConfig(env, 'tinyprov', 'OAUTH1', { consumer_key: 'hmac-consumer', consumer_secret: 'wrong' });
    const before = await accountCount(env);
    const res = await call(env).post('/connected_accounts', { auth_config: { id: bad }, connection: { user_id: 'ada' } });
    expect(res.status).toBe(400);
    expect((res.body as { error: { message: string } }).error.message).toContain('signature_invalid');
    expect(JSON.stringify(res.body)).not.toContain('wrong');
    expect(await accountCount(env)).toBe(before);
  });

  it('an OAuth 1.0 provider that does not confirm the callback is refused (1.0a is required)', async () => {
    const cfg = await createAuthConfig(env, 'oldprov', 'OAUTH1', CONSUMERS['HMAC-SHA1']);
    const res = await call(env).post('/connected_accounts', { auth_config: { id: cfg }, connection: { user_id: 'ada' } });
    expect(res.status).toBe(400);
    expect((res.body as { error: { message: string } }).error.message).toContain('callback_not_confirmed');
  });

  it('a callback whose oauth_token is not this attempt\'s fails the account; the state cannot be replayed', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    const atProvider = await visit(created.redirect_url);
    const back = new URL(atProvider.location!);
    back.searchParams.set('oauth_token', 'rt-forged');
    const landed = await visit(back);
    expect(landed.status).toBe(400);
    const account = await getAccount(created.id);
    expect(account.status).toBe('FAILED');
    expect(account.state.val).toMatchObject({ error: 'token_mismatch' });
    back.searchParams.set('oauth_token', String(created.connectionData.val.oauth_token));
    const again = await visit(back);
    expect(again.status).toBe(400);
    expect(again.text).toContain('already used');
  });

  it('the user denying access at the provider fails the account saying so', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    const atProvider = await visit(created.redirect_url);
    const back = new URL(atProvider.location!);
    back.searchParams.delete('oauth_verifier');
    back.searchParams.set('denied', String(created.connectionData.val.oauth_token));
    expect((await visit(back)).status).toBe(400);
    const account = await getAccount(created.id);
    expect(account).toMatchObject({ status: 'FAILED', status_reason: 'Authorization failed at the provider: access_denied' });
    expect(account.state.val).not.toHaveProperty('oauth_token_secret');
  });

  it('re-authorisation keeps the account id and issues a new temporary token', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    await consentAndReturn(created.redirect_url);
    const res = await call(env).post(`/connected_accounts/${created.id}/refresh`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as { status: string; redirect_url: string };
    expect(body.status).toBe('INITIATED');
    expect(new URL(body.redirect_url).searchParams.get('oauth_token')).not.toBe(created.connectionData.val.oauth_token);
    await consentAndReturn(body.redirect_url);
    expect((await getAccount(created.id)).status).toBe('ACTIVE');
  });

  it('the proxy signs each request for its method and final URL; a caller Authorization header is refused', async () => {
    const created = await initiate(configs['RSA-SHA1']!);
    await consentAndReturn(created.redirect_url);
    const proxy = (body: object) => call(env).post('/tools/execute/proxy', { connected_account_id: created.id, ...body });
    const get = await proxy({ endpoint: '/me?count=2', method: 'GET' });
    expect(get.status, JSON.stringify(get.body)).toBe(200);
    expect(get.body).toMatchObject({ status: 200, data: { user_id: '42', query: { count: '2' } } });
    const post = await proxy({ endpoint: '/me', method: 'POST', body: { a: 1 } });
    expect(post.body).toMatchObject({ status: 200, data: { user_id: '42' } });
    const forged = await proxy({ endpoint: '/me', method: 'GET', parameters: [{ name: 'Authorization', type: 'header', value: 'OAuth x' }] });
    expect(forged.status).toBe(400);
    expect(JSON.stringify(forged.body)).toContain('Header Authorization');
  });

  it('a token the provider revoked: the proxy answers its 401 and the account becomes EXPIRED, with the expired event', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    await consentAndReturn(created.redirect_url);
    const token = (await getAccount(created.id)).state.val.oauth_token as string;
    const proxy = (endpoint: string) => call(env).post('/tools/execute/proxy', { connected_account_id: created.id, endpoint, method: 'GET' });
    // Another error from the provider says nothing about the token.
    expect((await proxy('/nowhere')).body).toMatchObject({ status: 404 });
    expect((await getAccount(created.id)).status).toBe('ACTIVE');

    expect(provider.revoke(token)).toBe(true);
    const refused = await proxy('/me');
    expect(refused.status, JSON.stringify(refused.body)).toBe(200);
    expect(refused.body).toMatchObject({ status: 401 });
    const after = await getAccount(created.id);
    expect(after.status).toBe('EXPIRED');
    expect(after.status_reason).toMatch(/rejected the access token \(401\)/);
    const events = await env.ctx.db.webhookEvent.findMany({ where: { accountId: created.id }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => e.type).at(-1)).toBe('composio.connected_account.expired');
    // EXPIRED until re-authorised: the proxy no longer signs with the dead token.
    expect((await proxy('/me')).status).toBe(409);
  });

  it('another project cannot read or sign with the account (404)', async () => {
    const created = await initiate(configs['HMAC-SHA1']!);
    const other = await env.ctx.newProject();
    expect((await call(env, other.apiKey).get(`/connected_accounts/${created.id}/auth_params`)).status).toBe(404);
  });
});

describe('catalogue entries', () => {
  it('trello: OAUTH1 on trello.com (read,write, never expiring) and the key-and-token scheme in the query', async () => {
    const toolkit = await call(env).get('/toolkits/trello');
    expect(toolkit.status).toBe(200);
    const def = env.ctx.app.services.toolkits;
    const trello = (await def.resolve(env.ctx.projectId, 'trello')).definition;
    expect(trello.auth_schemes.find((s) => s.mode === 'OAUTH1')?.oauth1).toMatchObject({
      request_token_url: 'https://trello.com/1/OAuthGetRequestToken',
      authorize_url: 'https://trello.com/1/OAuthAuthorizeToken',
      access_token_url: 'https://trello.com/1/OAuthGetAccessToken',
      authorize_params: { scope: 'read,write', expiration: 'never' },
    });
    const cfg = await createAuthConfig(env, 'trello', 'BEARER_TOKEN', {});
    const created = await call(env).post('/connected_accounts', { auth_config: { id: cfg }, connection: { user_id: 'ada', state: { authScheme: 'BEARER_TOKEN', val: { api_key: 'k123', token: 't456' } } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const params = await call(env).get(`/connected_accounts/${(created.body as { id: string }).id}/auth_params`);
    expect(params.body).toEqual({
      base_url: 'https://api.trello.com/1',
      parameters: [
        { name: 'key', in: 'query', value: 'k123' },
        { name: 'token', in: 'query', value: 't456' },
      ],
      body: {},
    });
  });

  it('twitter_media: OAUTH1 on api.x.com, an auth config needs the consumer key and secret', async () => {
    const def = (await env.ctx.app.services.toolkits.resolve(env.ctx.projectId, 'twitter_media')).definition;
    expect(def.base_url).toBe('https://api.x.com/2');
    expect(def.auth_schemes.map((s) => s.mode)).toEqual(['OAUTH1']);
    const missing = await call(env).post('/auth_configs', { toolkit: { slug: 'twitter_media' }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH1', credentials: { consumer_key: 'k' } } });
    expect(missing.status).toBe(400);
  });
});
