/**
 * S2S_OAUTH2: the client credentials grant (RFC 6749 §4.4). The app's own client id and secret buy
 * an access token; there is no user, no redirect and no refresh token, so "refreshing" is asking
 * again. openid-client does the request (client authentication encoded per RFC 6749 §2.3.1, the
 * response checked), through the injected fetch.
 */
import * as oidc from 'openid-client';
import { checkUrl, type HttpOptions, type TokenResponse, tokenResponse } from './http.js';
import { classifyOidc, tokenEndpointConfig } from './openid.js';

export type ClientCredentialsRequest = {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** `client_secret_basic` (the RFC's default) or `client_secret_post`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  scopes?: string[];
  /** How the provider joins scopes (a space by the RFC; some use commas). */
  scopeSeparator?: string;
  /** Auth0-style APIs name the API they issue for. */
  audience?: string;
  /** RFC 8707 resource indicator(s). */
  resource?: string | string[];
  /** Other fixed token parameters a provider needs (e.g. Zoom's `account_id`). */
  extraParams?: Record<string, string>;
};

/** The form parameters of the token request, besides grant_type and client authentication. */
export function clientCredentialsParams(req: ClientCredentialsRequest): URLSearchParams {
  const params = new URLSearchParams(req.extraParams);
  if (req.scopes?.length) params.set('scope', req.scopes.join(req.scopeSeparator ?? ' '));
  if (req.audience) params.set('audience', req.audience);
  for (const r of [req.resource ?? []].flat()) params.append('resource', r);
  return params;
}

/** One client credentials token request. Throws a classified ProviderError. */
export async function clientCredentialsToken(http: HttpOptions, req: ClientCredentialsRequest, now: () => Date = () => new Date()): Promise<TokenResponse> {
  try {
    const tokenUrl = checkUrl(http, req.tokenUrl);
    const auth = req.authMethod === 'client_secret_post' ? oidc.ClientSecretPost(req.clientSecret) : oidc.ClientSecretBasic(req.clientSecret);
    const config = tokenEndpointConfig(http, { issuer: tokenUrl.origin, token_endpoint: tokenUrl.href }, req.clientId, { client_secret: req.clientSecret }, auth);
    const t = await oidc.clientCredentialsGrant(config, clientCredentialsParams(req));
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) if (v !== undefined && typeof v !== 'function') fields[k] = v;
    return tokenResponse(fields, now());
  } catch (err) {
    throw classifyOidc(err);
  }
}
