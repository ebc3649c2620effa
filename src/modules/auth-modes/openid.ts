/**
 * openid-client, as the auth modes use it: a Configuration for one token endpoint over the injected
 * fetch (timeout, no redirects, form-encoded answers re-encoded as JSON), and its errors classified
 * into the oauth module's ProviderError.
 */
import * as oidc from 'openid-client';
import { checkUrl, type HttpOptions, isTransientStatus, ProviderError, readFields } from './http.js';

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
