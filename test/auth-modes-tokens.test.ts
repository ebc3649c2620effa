/**
 * The non-interactive auth modes against real loopback token endpoints: client credentials
 * (S2S_OAUTH2), Google service accounts (RFC 7523 JWT bearer) and GitHub App installation tokens
 * (SERVICE_ACCOUNT). Each failure is classified as the account lifecycle will need it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentialsToken } from '../src/modules/auth-modes/client-credentials.js';
import { appJwt, installationToken, parseGitHubApp } from '../src/modules/auth-modes/github-app.js';
import { mintAssertion, parseServiceAccount, serviceAccountToken } from '../src/modules/auth-modes/google-service-account.js';
import { ProviderError } from '../src/modules/auth-modes/http.js';
import { loopbackHttp } from './support/loopback.js';
import { CC_CLIENT, rsaKeyPair, startTokenEndpoints, type TokenEndpoints, verifyJwt } from './support/token-endpoints.js';

let ep: TokenEndpoints;
const http = loopbackHttp();
beforeAll(async () => {
  ep = await startTokenEndpoints();
});
afterAll(() => ep.close());

async function refusal(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('client credentials (RFC 6749 §4.4)', () => {
  const req = () => ({ tokenUrl: `${ep.url}/cc/token`, clientId: CC_CLIENT.id, clientSecret: CC_CLIENT.secret });

  it('client_secret_basic: credentials form-encoded in the Basic header, scopes with their separator, audience and resource', async () => {
    const t = await clientCredentialsToken(http, { ...req(), scopes: ['read', 'write'], scopeSeparator: ',', audience: 'https://api.example.com', resource: ['https://a.example/', 'https://b.example/'] });
    expect(t.access_token).toMatch(/^cc-token-/);
    expect(t.expires_in).toBe(3600);
    expect(Date.parse(t.expires_at!) - Date.now()).toBeGreaterThan(3500_000);
    const sent = ep.requests.at(-1)!;
    expect(sent.headers.authorization).toMatch(/^Basic /);
    expect(sent.form).not.toHaveProperty('client_secret');
    expect(sent.form.scope).toBe('read,write');
    expect(sent.form.audience).toBe('https://api.example.com');
    expect(new URLSearchParams(sent.body).getAll('resource')).toEqual(['https://a.example/', 'https://b.example/']);
  });

  it('client_secret_post: credentials in the body, no Authorization header', async () => {
    const t = await clientCredentialsToken(http, { ...req(), authMethod: 'client_secret_post', extraParams: { account_id: 'acc-1' } });
    expect(t.access_token).toMatch(/^cc-token-/);
    const sent = ep.requests.at(-1)!;
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.form).toMatchObject({ client_id: CC_CLIENT.id, client_secret: CC_CLIENT.secret, grant_type: 'client_credentials', account_id: 'acc-1' });
  });

  it('reads a form-encoded token response', async () => {
    ep.script({ status: 200, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'access_token=form-tok&token_type=bearer&expires_in=120' });
    const t = await clientCredentialsToken(http, req());
    expect(t).toMatchObject({ access_token: 'form-tok', expires_in: 120 });
  });

  it('wrong secret → permanent invalid_client; refused scope → permanent invalid_scope with the provider text', async () => {
    const a = await refusal(clientCredentialsToken(http, { ...req(), clientSecret: 'nope' }));
    expect([a.kind, a.error]).toEqual(['permanent', 'invalid_client']);
    const b = await refusal(clientCredentialsToken(http, { ...req(), scopes: ['admin'] }));
    expect([b.kind, b.error, b.description]).toEqual(['permanent', 'invalid_scope', 'admin is not granted to this client']);
    ep.script({ status: 400, body: { error: 'unauthorized_client' } });
    expect((await refusal(clientCredentialsToken(http, req()))).kind).toBe('permanent');
  });

  it('5xx, 429 and timeouts are transient', async () => {
    ep.script({ status: 503, body: { error: 'temporarily_unavailable' } });
    expect(await refusal(clientCredentialsToken(http, req()))).toMatchObject({ kind: 'transient', status: 503 });
    ep.script({ status: 429, headers: { 'retry-after': '1' }, body: 'slow down' });
    expect(await refusal(clientCredentialsToken(http, req()))).toMatchObject({ kind: 'transient', status: 429 });
    ep.script({ status: 200, delayMs: 1500, body: { access_token: 'late', token_type: 'bearer' } });
    expect(await refusal(clientCredentialsToken({ ...http, timeoutMs: 200 }, req()))).toMatchObject({ kind: 'transient', error: 'timeout' });
  });

  it('never follows a redirect (the secret would follow it)', async () => {
    ep.script({ status: 307, headers: { location: `${ep.url}/cc/token` } });
    const before = ep.requests.length;
    const err = await refusal(clientCredentialsToken(http, req()));
    expect([err.kind, err.error]).toEqual(['permanent', 'unexpected_redirect']);
    expect(ep.requests.length).toBe(before + 1);
  });

  it('passes every request through the injected fetch, and refuses plain HTTP unless loopback is allowed', async () => {
    const seen: string[] = [];
    await clientCredentialsToken({ ...http, fetch: (u, i) => (seen.push(u), fetch(u, i)) }, req());
    expect(seen).toEqual([`${ep.url}/cc/token`]);
    const err = await refusal(clientCredentialsToken({ ...http, allowInsecureLoopback: false }, req()));
    expect([err.kind, err.error]).toEqual(['permanent', 'insecure_url']);
  });

  it("surfaces the injected fetch's own refusal (the egress guard's) as it is", async () => {
    const guard = () => Promise.reject(new ProviderError('permanent', 'egress_refused', 'private address'));
    expect(await refusal(clientCredentialsToken({ ...http, fetch: guard }, req()))).toMatchObject({ kind: 'permanent', error: 'egress_refused' });
    const account = parseServiceAccount(JSON.stringify({ type: 'service_account', private_key: ep.google.privatePem, client_email: ep.google.email, token_uri: `${ep.url}/google/token` }), http);
    if (!account.ok) throw new Error('parse');
    expect(await refusal(serviceAccountToken({ ...http, fetch: guard }, account.account, { scopes: [] }))).toMatchObject({ error: 'egress_refused' });
  });
});

describe('Google service account (RFC 7523 JWT bearer)', () => {
  const json = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ type: 'service_account', project_id: 'p', private_key_id: 'kid-1', private_key: ep.google.privatePem, client_email: ep.google.email, token_uri: `${ep.url}/google/token`, ...over });
  const account = () => {
    const r = parseServiceAccount(json(), http);
    if (!r.ok) throw new Error(r.errors.join('; '));
    return r.account;
  };

  it('validates the key file field by field, never echoing the key', () => {
    expect(parseServiceAccount('{nope')).toEqual({ ok: false, errors: ['credentials_json is not JSON'] });
    const r = parseServiceAccount(json({ type: 'authorized_user', client_email: 'not-an-email', private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), http);
    expect(r.ok).toBe(false);
    const errors = (r as { errors: string[] }).errors;
    expect(errors.join('\n')).toMatch(/type/);
    expect(errors.join('\n')).toMatch(/client_email/);
    const badKey = parseServiceAccount(json({ private_key: 'garbage' }), http);
    expect(badKey).toEqual({ ok: false, errors: ['credentials_json.private_key: not an RSA private key in PEM form'] });
    expect(parseServiceAccount(json({ token_uri: 'http://evil.example/token' }), http)).toEqual({ ok: false, errors: ['credentials_json.token_uri: must be an https URL'] });
    expect(parseServiceAccount(json())).toMatchObject({ ok: false });
  });

  it('mints an assertion the service account public key verifies: iss, scope, aud = token_uri, exp ≤ 1 h, kid, sub', () => {
    const now = new Date();
    const jwt = mintAssertion(account(), { scopes: ['https://www.googleapis.com/auth/drive', 'openid'], subject: 'alice@example.com', lifetimeSeconds: 7200, now });
    const v = verifyJwt(jwt, ep.google.publicKey)!;
    expect(v.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    const iat = Math.floor(now.getTime() / 1000);
    expect(v.claims).toEqual({ iss: ep.google.email, scope: 'https://www.googleapis.com/auth/drive openid', aud: `${ep.url}/google/token`, iat, exp: iat + 3600, sub: 'alice@example.com' });
    expect(verifyJwt(jwt, rsaKeyPair().publicKey)).toBeUndefined();
  });

  it('exchanges the assertion for an access token (grant_type jwt-bearer), with sub for delegation', async () => {
    const t = await serviceAccountToken(http, account(), { scopes: ['s1'], subject: 'bob@example.com' });
    expect(t.access_token).toMatch(/^ya29\.google-/);
    expect(t).toMatchObject({ expires_in: 3599, sub_seen: 'bob@example.com', scope_seen: 's1' });
    expect(ep.requests.at(-1)!.form.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  });

  it('a key the server does not know → permanent invalid_grant', async () => {
    const other = parseServiceAccount(json({ private_key: rsaKeyPair().privatePem }), http);
    if (!other.ok) throw new Error('parse');
    const err = await refusal(serviceAccountToken(http, other.account, { scopes: ['s1'] }));
    expect([err.kind, err.error, err.description]).toEqual(['permanent', 'invalid_grant', 'Invalid JWT Signature.']);
  });

  it('clock skew: the server refuses an assertion issued in the future; minting uses the current time', async () => {
    const skewed = () => new Date(Date.now() + 10 * 60_000);
    const err = await refusal(serviceAccountToken(http, account(), { scopes: ['s1'] }, skewed));
    expect([err.kind, err.error]).toEqual(['permanent', 'invalid_grant']);
    expect((await serviceAccountToken(http, account(), { scopes: ['s1'] })).access_token).toBeTruthy();
  });
});

describe('GitHub App installation tokens (SERVICE_ACCOUNT)', () => {
  const app = (over: Record<string, unknown> = {}) => {
    const r = parseGitHubApp({ application_id: ep.github.appId, installation_id: Number(ep.github.installationId), private_key: ep.github.privatePem, ...over });
    if (!r.ok) throw new Error(r.errors.join('; '));
    return r.app;
  };
  const api = () => `${ep.url}/github`;

  it('validates the fields (ids are digits, the key an RSA PEM; escaped newlines accepted)', () => {
    expect(parseGitHubApp({ application_id: 'abc', installation_id: '1/../2', private_key: 'x' })).toEqual({
      ok: false,
      errors: ['application_id: a GitHub App id (digits) or client id', 'installation_id: digits', 'private_key: the App private key (RSA, PEM)'],
    });
    expect(parseGitHubApp({ application_id: 'Iv23liABC', installation_id: '1', private_key: ep.github.privatePem.replace(/\n/g, '\\n') }).ok).toBe(true);
  });

  it('the app JWT: RS256, iss = app id, iat backdated 60 s, exp 10 minutes after iat', () => {
    const now = new Date();
    const v = verifyJwt(appJwt(app(), now), ep.github.publicKey)!;
    const t = Math.floor(now.getTime() / 1000);
    expect(v.claims).toEqual({ iss: ep.github.appId, iat: t - 60, exp: t + 540 });
  });

  it('gets an installation token with expires_at parsed, sending the app JWT as Bearer', async () => {
    const t = await installationToken(http, app(), { apiBaseUrl: api(), scope: { repositories: ['latchkey'] } });
    expect(t.token).toMatch(/^ghs_installation/);
    expect(Date.parse(t.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    expect(t).toMatchObject({ permissions: { contents: 'read' }, repository_selection: 'all' });
    const sent = ep.requests.at(-1)!;
    expect(sent.url.pathname).toBe(`/github/app/installations/${ep.github.installationId}/access_tokens`);
    expect(sent.headers.accept).toBe('application/vnd.github+json');
    expect(sent.json).toEqual({ repositories: ['latchkey'] });
  });

  it('a wrong key → permanent invalid_client; an unknown installation → permanent installation_not_found; 5xx transient', async () => {
    const wrongKey = await refusal(installationToken(http, app({ private_key: rsaKeyPair().privatePem }), { apiBaseUrl: api() }));
    expect([wrongKey.kind, wrongKey.error, wrongKey.status]).toEqual(['permanent', 'invalid_client', 401]);
    const missing = await refusal(installationToken(http, app({ installation_id: '1' }), { apiBaseUrl: api() }));
    expect([missing.kind, missing.error]).toEqual(['permanent', 'installation_not_found']);
    ep.script({ status: 502, body: 'bad gateway' });
    expect((await refusal(installationToken(http, app(), { apiBaseUrl: api() }))).kind).toBe('transient');
  });

  it('clock skew: a JWT minted by a clock 5 minutes fast is refused; the current time is accepted', async () => {
    const err = await refusal(installationToken(http, app(), { apiBaseUrl: api(), now: () => new Date(Date.now() + 5 * 60_000) }));
    expect([err.kind, err.status]).toEqual(['permanent', 401]);
    expect((await installationToken(http, app(), { apiBaseUrl: api() })).token).toBeTruthy();
  });
});
