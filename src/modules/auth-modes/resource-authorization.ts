/**
 * DCR_OAUTH / CIMD_OAUTH, step 3: the authorization code flow with a discovered server and a
 * registered (or metadata-document) client. PKCE S256 always; the RFC 8707 `resource` on the
 * authorize, token and refresh requests, so the token is audience-bound to the one MCP server it
 * is for. openid-client does the protocol (state, PKCE, RFC 9207 `iss` check when advertised).
 */
import * as oidc from 'openid-client';
import type { RegisteredClient } from './client-registration.js';
import { type HttpOptions, type TokenResponse, tokenResponse } from './http.js';
import { classifyOidc, tokenEndpointConfig } from './openid.js';
import type { AuthorizationServerMetadata } from './resource-discovery.js';

export type AuthorizationClient = Pick<RegisteredClient, 'client_id' | 'client_secret' | 'token_endpoint_auth_method'>;

export function resourceClientConfig(http: HttpOptions, as: AuthorizationServerMetadata, client: AuthorizationClient): oidc.Configuration {
  const auth =
    client.token_endpoint_auth_method === 'none' || !client.client_secret
      ? oidc.None()
      : client.token_endpoint_auth_method === 'client_secret_post'
        ? oidc.ClientSecretPost(client.client_secret)
        : oidc.ClientSecretBasic(client.client_secret);
  return tokenEndpointConfig(http, as as oidc.ServerMetadata, client.client_id, client.client_secret ? { client_secret: client.client_secret } : {}, auth);
}

export async function resourceAuthorizationUrl(config: oidc.Configuration, p: { redirectUri: string; state: string; codeVerifier: string; scopes: string[]; resource: string }): Promise<string> {
  const params: Record<string, string> = {
    response_type: 'code',
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge: await oidc.calculatePKCECodeChallenge(p.codeVerifier),
    code_challenge_method: 'S256',
    resource: p.resource,
  };
  if (p.scopes.length) params.scope = p.scopes.join(' ');
  return oidc.buildAuthorizationUrl(config, params).href;
}

function fields(t: oidc.TokenEndpointResponse): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && typeof v !== 'function') out[k] = v;
  return out;
}

/** The callback URL (with code and state) for tokens. Throws a classified ProviderError. */
export async function exchangeResourceCode(
  config: oidc.Configuration,
  callbackUrl: URL,
  checks: { state: string; codeVerifier: string; resource: string },
  now: () => Date = () => new Date(),
): Promise<TokenResponse> {
  try {
    const t = await oidc.authorizationCodeGrant(config, callbackUrl, { expectedState: checks.state, pkceCodeVerifier: checks.codeVerifier, idTokenExpected: false }, { resource: checks.resource });
    return tokenResponse(fields(t), now());
  } catch (err) {
    throw classifyOidc(err);
  }
}

export async function refreshResourceToken(config: oidc.Configuration, refreshToken: string, resource: string, now: () => Date = () => new Date()): Promise<TokenResponse> {
  try {
    return tokenResponse(fields(await oidc.refreshTokenGrant(config, refreshToken, { resource })), now());
  } catch (err) {
    throw classifyOidc(err);
  }
}
