/**
 * DCR_OAUTH / CIMD_OAUTH: connecting a remote MCP server by URL. Discovery (RFC 9728 → RFC 8414 /
 * OpenID), registration (RFC 7591 or a client ID metadata document), then the authorization code
 * flow with PKCE S256 and the RFC 8707 resource, against a loopback resource and authorization
 * server; and each way it can fail.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkMetadataDocumentUrl, chooseRegistration, clientIdMetadataDocument, registerClient } from '../src/modules/auth-modes/client-registration.js';
import { ProviderError } from '../src/modules/auth-modes/http.js';
import { exchangeResourceCode, refreshResourceToken, resourceAuthorizationUrl, resourceClientConfig } from '../src/modules/auth-modes/resource-authorization.js';
import { authorizationServerMetadataUrls, bearerChallenge, discoverResource, wellKnown } from '../src/modules/auth-modes/resource-discovery.js';
import { randomCodeVerifier, randomState } from '../src/modules/oauth/oauth-client.js';
import { loopbackHttp } from './support/loopback.js';
import { type McpAuthServer, startMcpAuthServer } from './support/mcp-auth-server.js';

const http = loopbackHttp();
const REDIRECT = 'https://latchkey.example/api/v3/toolkits/auth/callback';
let mcp: McpAuthServer;
beforeAll(async () => {
  mcp = await startMcpAuthServer();
});
afterEach(() => mcp.reset());
afterAll(() => mcp.close());

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ProviderError);
  return e as ProviderError;
}

/** The user approves: the authorization server redirects to Latchkey's callback. */
async function approve(url: string): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

describe('well-known locations and challenges', () => {
  it('inserts the well-known segment between host and path', () => {
    expect(wellKnown(new URL('https://mcp.example.com/public/mcp'), 'oauth-protected-resource')).toBe('https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp');
    expect(wellKnown(new URL('https://mcp.example.com/'), 'oauth-protected-resource')).toBe('https://mcp.example.com/.well-known/oauth-protected-resource');
    expect(authorizationServerMetadataUrls('https://auth.example.com/tenant1')).toEqual([
      'https://auth.example.com/.well-known/oauth-authorization-server/tenant1',
      'https://auth.example.com/.well-known/openid-configuration/tenant1',
      'https://auth.example.com/tenant1/.well-known/openid-configuration',
    ]);
    expect(authorizationServerMetadataUrls('https://auth.example.com')).toEqual(['https://auth.example.com/.well-known/oauth-authorization-server', 'https://auth.example.com/.well-known/openid-configuration']);
  });

  it('reads a Bearer challenge with quoted and bare parameters, among other schemes', () => {
    expect(bearerChallenge('Bearer resource_metadata="https://x.example/.well-known/oauth-protected-resource", scope="a b", error=invalid_token')).toEqual({
      resource_metadata: 'https://x.example/.well-known/oauth-protected-resource',
      scope: 'a b',
      error: 'invalid_token',
    });
    expect(bearerChallenge('Basic realm="x", Bearer realm="y"')).toEqual({ realm: 'y' });
    expect(bearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(bearerChallenge(null)).toBeUndefined();
  });
});

describe('dynamic client registration, end to end', () => {
  it('discovers, registers, authorizes with PKCE and resource, exchanges, calls the resource and refreshes', async () => {
    const found = await discoverResource(http, mcp.resource);
    expect(found.resource).toBe(mcp.resource);
    expect(found.authorizationServer.issuer).toBe(mcp.issuer);
    expect(found.scopes).toEqual(['mcp:tools']); // the challenge's scope wins over scopes_supported
    expect(chooseRegistration(found.authorizationServer, { preRegistered: false, metadataDocumentUrl: true })).toBe('dynamic_registration');

    const client = await registerClient(http, found.authorizationServer, { redirectUris: [REDIRECT], clientName: 'Latchkey', scopes: found.scopes });
    expect(client.token_endpoint_auth_method).toBe('client_secret_basic');
    expect(client.client_id).toMatch(/^dcr-/);
    expect(client.client_secret).toBeTruthy();
    expect(typeof client.client_id_issued_at).toBe('number');
    const registration = mcp.requests.find((r) => r.url.pathname === '/tenant/register')!;
    expect(registration.json).toMatchObject({ redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic', client_name: 'Latchkey' });

    const config = resourceClientConfig(http, found.authorizationServer, client);
    const state = randomState();
    const codeVerifier = randomCodeVerifier();
    const url = new URL(await resourceAuthorizationUrl(config, { redirectUri: REDIRECT, state, codeVerifier, scopes: found.scopes, resource: found.resource }));
    expect(url.searchParams.get('resource')).toBe(mcp.resource);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');

    const callback = await approve(url.href);
    const tokens = await exchangeResourceCode(config, callback, { state, codeVerifier, resource: found.resource });
    expect(tokens.access_token).toMatch(/^mcp-at-/);
    expect(tokens.refresh_token).toMatch(/^mcp-rt-/);
    expect(mcp.requests.at(-1)!.form).toMatchObject({ grant_type: 'authorization_code', resource: mcp.resource });

    const call = await fetch(mcp.resource, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(call.status).toBe(200);

    const refreshed = await refreshResourceToken(config, tokens.refresh_token as string, found.resource);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(mcp.requests.at(-1)!.form).toMatchObject({ grant_type: 'refresh_token', resource: mcp.resource });
  });

  it('a code replayed or a wrong verifier is a permanent invalid_grant', async () => {
    const found = await discoverResource(http, mcp.resource);
    const client = await registerClient(http, found.authorizationServer, { redirectUris: [REDIRECT], clientName: 'Latchkey' });
    const config = resourceClientConfig(http, found.authorizationServer, client);
    const state = randomState();
    const callback = await approve(await resourceAuthorizationUrl(config, { redirectUri: REDIRECT, state, codeVerifier: randomCodeVerifier(), scopes: [], resource: found.resource }));
    const err = await failure(exchangeResourceCode(config, callback, { state, codeVerifier: randomCodeVerifier(), resource: found.resource }));
    expect([err.kind, err.error, err.description]).toEqual(['permanent', 'invalid_grant', 'PKCE verification failed']);
  });

  it('a public client where the server allows only none', async () => {
    mcp.options.authMethods = ['none'];
    const found = await discoverResource(http, mcp.resource);
    const client = await registerClient(http, found.authorizationServer, { redirectUris: [REDIRECT], clientName: 'Latchkey' });
    expect(client).toMatchObject({ token_endpoint_auth_method: 'none' });
    expect(client.client_secret).toBeUndefined();
    const config = resourceClientConfig(http, found.authorizationServer, client);
    const state = randomState();
    const codeVerifier = randomCodeVerifier();
    const callback = await approve(await resourceAuthorizationUrl(config, { redirectUri: REDIRECT, state, codeVerifier, scopes: [], resource: found.resource }));
    expect((await exchangeResourceCode(config, callback, { state, codeVerifier, resource: found.resource })).access_token).toBeTruthy();
  });
});

describe('discovery fallbacks', () => {
  it('without resource_metadata in the challenge: the path-inserted well-known, then the root', async () => {
    mcp.options.challenge = 'bare';
    expect((await discoverResource(http, mcp.resource)).resource).toBe(mcp.resource);
    mcp.options.challenge = 'redirect'; // a redirecting resource is not followed, only skipped
    expect((await discoverResource(http, mcp.resource)).resource).toBe(mcp.resource);
    expect(mcp.requests.some((r) => r.url.pathname === '/login')).toBe(false);
    mcp.options.resourceMetadataAt = 'root';
    const found = await discoverResource(http, mcp.resource);
    expect(found.authorizationServer.issuer).toBe(mcp.issuer);
    expect(found.scopes).toEqual(['mcp:tools', 'mcp:read']); // no challenge scope: scopes_supported
  });

  it('falls back to OpenID Connect discovery, both path forms', async () => {
    mcp.options.asMetadata = 'openid';
    expect((await discoverResource(http, mcp.resource)).authorizationServer.token_endpoint).toBe(`${mcp.issuer}/token`);
    mcp.options.asMetadata = 'openid-suffix';
    expect((await discoverResource(http, mcp.resource)).authorizationServer.token_endpoint).toBe(`${mcp.issuer}/token`);
  });
});

describe('discovery and registration failures', () => {
  const cases: [string, Partial<McpAuthServer['options']>, string, 'permanent' | 'transient'][] = [
    ['no protected resource metadata anywhere', { challenge: 'bare', resourceMetadataAt: 'none' }, 'metadata_missing', 'permanent'],
    ['metadata about another resource', { resourceMetadataResource: 'http://127.0.0.1:1/elsewhere' }, 'resource_mismatch', 'permanent'],
    ['resource metadata without authorization_servers', { malformedResourceMetadata: true }, 'invalid_metadata', 'permanent'],
    ['no authorization server metadata', { asMetadata: 'none' }, 'metadata_missing', 'permanent'],
    ['authorization server metadata naming another issuer', { wrongIssuer: true }, 'issuer_mismatch', 'permanent'],
    ['no PKCE S256 advertised', { pkce: false }, 'pkce_unsupported', 'permanent'],
    ['the authorization server answering 503', { asMetadata: 'error' }, 'http_503', 'transient'],
  ];
  it.each(cases)('%s', async (_name, options, error, kind) => {
    Object.assign(mcp.options, options);
    const err = await failure(discoverResource(http, mcp.resource));
    expect([err.kind, err.error]).toEqual([kind, error]);
  });

  it('registration refused → permanent registration_refused with the server description', async () => {
    mcp.options.registration = 'refuse';
    const found = await discoverResource(http, mcp.resource);
    const err = await failure(registerClient(http, found.authorizationServer, { redirectUris: [REDIRECT], clientName: 'Latchkey' }));
    expect([err.kind, err.error, err.description, err.status]).toEqual(['permanent', 'registration_refused', 'registration is closed to new clients', 400]);
  });

  it('no registration endpoint and no metadata documents → no way to register', async () => {
    mcp.options.registration = 'absent';
    const found = await discoverResource(http, mcp.resource);
    expect(() => chooseRegistration(found.authorizationServer, { preRegistered: false, metadataDocumentUrl: true })).toThrow(/registration_unsupported/);
    expect(chooseRegistration(found.authorizationServer, { preRegistered: true, metadataDocumentUrl: true })).toBe('pre_registered');
  });

  it('a resource URL that is not https is refused before any request', async () => {
    const before = mcp.requests.length;
    const err = await failure(discoverResource({ ...http, allowInsecureLoopback: false }, mcp.resource));
    expect(err.error).toBe('insecure_url');
    expect(mcp.requests.length).toBe(before);
  });
});

describe('client ID metadata documents (CIMD_OAUTH)', () => {
  const clientId = 'https://latchkey.example/oauth/client-metadata/ac_123.json';

  it('produces the document Latchkey serves at its client_id URL, and checks that URL', () => {
    expect(clientIdMetadataDocument({ clientId, clientName: 'Latchkey', redirectUris: [REDIRECT] })).toEqual({
      client_id: clientId,
      client_name: 'Latchkey',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    for (const bad of ['http://latchkey.example/c.json', 'https://latchkey.example/', 'https://latchkey.example/a/../c.json', 'https://u:p@latchkey.example/c.json', 'https://latchkey.example/c.json#x']) {
      expect(() => checkMetadataDocumentUrl(bad)).toThrow();
    }
  });

  it('a server advertising client_id_metadata_document_supported gets the URL as client_id; the flow needs no registration', async () => {
    mcp.options.cimd = true;
    mcp.cimdDocuments.set(clientId, clientIdMetadataDocument({ clientId, clientName: 'Latchkey', redirectUris: [REDIRECT] }));
    const before = mcp.requests.length;
    const found = await discoverResource(http, mcp.resource);
    expect(chooseRegistration(found.authorizationServer, { preRegistered: false, metadataDocumentUrl: true })).toBe('client_id_metadata_document');
    const config = resourceClientConfig(http, found.authorizationServer, { client_id: clientId, token_endpoint_auth_method: 'none' });
    const state = randomState();
    const codeVerifier = randomCodeVerifier();
    const url = await resourceAuthorizationUrl(config, { redirectUri: REDIRECT, state, codeVerifier, scopes: found.scopes, resource: found.resource });
    expect(new URL(url).searchParams.get('client_id')).toBe(clientId);
    const tokens = await exchangeResourceCode(config, await approve(url), { state, codeVerifier, resource: found.resource });
    expect(tokens.access_token).toMatch(/^mcp-at-/);
    expect(mcp.requests.slice(before).some((r) => r.url.pathname === '/tenant/register')).toBe(false);
  });
});
