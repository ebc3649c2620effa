/**
 * S2S_OAUTH2: the client credentials grant (RFC 6749 §4.4). The app's own client id and secret buy
 * an access token; there is no user, no redirect and no refresh token, so "refreshing" is asking
 * again. openid-client does the request (client authentication encoded per RFC 6749 §2.3.1, the
 * response checked), through the injected fetch.
 */
import * as oidc from 'openid-client';
import { checkUrl, type HttpOptions, isTransientStatus, ProviderError, readFields, type TokenResponse, tokenResponse } from './http.js';

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

/**
 * openid-client expects JSON; some token endpoints answer form-encoded whatever Accept says. Their
 * bodies are re-encoded as JSON here; everything else passes untouched.
 */
function jsonBodies(fetch: HttpOptions['fetch']): oidc.CustomFetch {
  return async (url, options) => {
    const res = await fetch(url, options as RequestInit);
    const type = res.headers.get('content-type') ?? '';
    if (/json/i.test(type) || (res.status >= 300 && res.status < 400)) return res;
    const fields = await readFields(res.clone());
    if (!fields) return res;
    const headers = new Headers(res.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    return new Response(JSON.stringify(fields), { status: res.status, statusText: res.statusText, headers });
  };
}

/** openid-client's errors as ProviderErrors: who refused what, and whether trying again can help. */
export function classifyOidc(err: unknown): ProviderError {
  // Our own (or the injected fetch's) classified error, possibly wrapped by openid-client.
  for (let c: unknown = err, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) if (c instanceof ProviderError) return c;
  if (err instanceof oidc.ResponseBodyError) {
    return new ProviderError(isTransientStatus(err.status) ? 'transient' : 'permanent', err.error, err.error_description, err.status);
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 with a challenge: the client credentials themselves were refused.
    return new ProviderError(isTransientStatus(err.status) ? 'transient' : 'permanent', err.status === 401 ? 'invalid_client' : `http_${err.status}`, undefined, err.status);
  }
  const e = err as { name?: string; code?: string; cause?: unknown };
  const status = (e.cause as { status?: number } | undefined)?.status;
  if (typeof status === 'number') {
    if (status >= 300 && status < 400) return new ProviderError('permanent', 'unexpected_redirect', `the endpoint answered ${status}`, status);
    return new ProviderError(isTransientStatus(status) ? 'transient' : 'permanent', `http_${status}`, undefined, status);
  }
  // openid-client wraps fetch's own failures; the timeout is somewhere down the cause chain.
  for (let c: unknown = err, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const name = (c as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return new ProviderError('transient', 'timeout');
  }
  if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e.code === 'OAUTH_UNSUPPORTED_OPERATION' || e.code === 'OAUTH_INVALID_RESPONSE') {
    return new ProviderError('permanent', 'invalid_token_response', 'the token endpoint answered something that is not a token response');
  }
  return new ProviderError('transient', 'network_error');
}

/** An openid-client Configuration for one token endpoint, over the injected fetch. */
export function tokenEndpointConfig(
  http: HttpOptions,
  server: oidc.ServerMetadata,
  clientId: string,
  clientMetadata: Partial<oidc.ClientMetadata>,
  auth: oidc.ClientAuth,
): oidc.Configuration {
  const urls = [server.token_endpoint, server.authorization_endpoint].filter((u): u is string => !!u).map((u) => checkUrl(http, u));
  const config = new oidc.Configuration(server, clientId, clientMetadata, auth);
  config.timeout = http.timeoutMs / 1000;
  config[oidc.customFetch] = jsonBodies(http.fetch);
  if (urls.some((u) => u.protocol === 'http:')) oidc.allowInsecureRequests(config);
  return config;
}

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
