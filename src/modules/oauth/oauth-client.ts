/**
 * OAuth 2.0 with openid-client: authorization URLs (PKCE S256), code exchange, refresh and RFC 7009
 * revocation, configured per toolkit from catalogue data (endpoints with `{{field}}` templates,
 * scopes and separator, extra parameters, token-endpoint client authentication). Provider errors
 * are classified here, once: permanent (the grant is dead) or transient (try again later).
 *
 * Every request openid-client makes (token, revocation, user info) goes through `config[customFetch]`:
 * the egress guard's checked fetch for a project's own toolkit, the platform fetch for the built-in
 * catalogue (trusted data; user values in its URL templates are held to the fields' patterns).
 */
import * as oidc from 'openid-client';
import { AppError } from '../../lib/errors.js';
import { EgressRefusedError } from '../egress/egress.js';
import { fill } from '../connected-accounts/auth-params.js';
import { type OAuth2Details, templateNames } from '../toolkits/toolkit-definition.js';

export type AppCredentials = { client_id: string; client_secret: string };

/** A fetch for provider requests: the egress guard's, or the platform's for trusted endpoints. */
export type ProviderFetch = (url: string, init: oidc.CustomFetchOptions) => Promise<Response>;

export type OAuthOptions = {
  /** Plain-HTTP endpoints are refused unless they are loopback and this is set (tests, local servers). */
  allowInsecureLoopback: boolean;
  /** Seconds per provider request. */
  timeoutSeconds: number;
  /** The egress guard's fetch, for endpoints a project gave (custom toolkits). */
  guardedFetch: ProviderFetch;
};

/** Where a toolkit's endpoints come from: the built-in catalogue (trusted) or a project. */
export type EndpointSource = 'catalogue' | 'project';

const platformFetch: ProviderFetch = (url, init) => fetch(url, init as RequestInit);

export class ProviderError extends Error {
  constructor(
    readonly kind: 'permanent' | 'transient',
    readonly error: string,
    readonly description?: string,
    readonly status?: number,
  ) {
    super(`${kind} provider error: ${error}`);
    this.name = 'ProviderError';
  }
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** The provider's endpoints with their `{{field}}` templates filled; every placeholder needs a value. */
function endpoints(details: OAuth2Details, values: Record<string, unknown>) {
  const strict = (template: string) => {
    const missing = templateNames(template).filter((n) => {
      const v = values[n];
      return !(typeof v === 'string' ? v.trim() : typeof v === 'number');
    });
    if (missing.length) {
      throw new AppError('ConnectedAccount_InvalidRequest', `The provider's OAuth URLs need ${missing.join(', ')}`, {
        suggestedFix: `Pass ${missing.join(', ')} in connection.state.val (or connection_data for a Connect Link)`,
      });
    }
    return fill(template, values);
  };
  return {
    authorization: strict(details.authorization_url),
    token: strict(details.token_url),
    revocation: details.revocation_url ? strict(details.revocation_url) : undefined,
  };
}

/**
 * Some token endpoints answer `application/x-www-form-urlencoded` (or text) whatever the Accept
 * header says; openid-client expects JSON. Such bodies are converted; everything else passes as is.
 */
export const jsonTokenResponses = (send: ProviderFetch) => async (url: string, options: oidc.CustomFetchOptions): Promise<Response> => {
  const res = await send(url, options);
  const type = res.headers.get('content-type') ?? '';
  if (!/application\/x-www-form-urlencoded|text\/plain/i.test(type)) return res;
  const fields = Object.fromEntries(new URLSearchParams(await res.text()));
  for (const k of ['expires_in', 'refresh_token_expires_in']) if (fields[k] !== undefined && /^\d+$/.test(fields[k])) (fields as Record<string, unknown>)[k] = Number(fields[k]);
  const headers = new Headers(res.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  return new Response(JSON.stringify(fields), { status: res.status, statusText: res.statusText, headers });
};

export function oauthConfiguration(
  details: OAuth2Details,
  creds: AppCredentials,
  values: Record<string, unknown>,
  opts: OAuthOptions,
  source: EndpointSource,
) {
  const ep = endpoints(details, values);
  const urls = [ep.authorization, ep.token, ep.revocation].filter((u): u is string => !!u).map((u) => new URL(u));
  const insecure = urls.filter((u) => u.protocol === 'http:');
  if (insecure.length && !(opts.allowInsecureLoopback && insecure.every((u) => LOOPBACK.test(u.hostname)))) {
    throw new AppError('ConnectedAccount_InvalidRequest', 'The toolkit uses plain-HTTP OAuth endpoints, which this server does not allow', {
      suggestedFix: 'Use https endpoints (plain HTTP is allowed only for loopback hosts with OAUTH_ALLOW_INSECURE_LOOPBACK=true)',
    });
  }
  const server: oidc.ServerMetadata = {
    issuer: new URL(ep.authorization).origin,
    authorization_endpoint: ep.authorization,
    token_endpoint: ep.token,
    ...(ep.revocation ? { revocation_endpoint: ep.revocation } : {}),
  };
  const auth =
    details.token_endpoint_auth_method === 'client_secret_basic' ? oidc.ClientSecretBasic(creds.client_secret) : oidc.ClientSecretPost(creds.client_secret);
  const config = new oidc.Configuration(server, creds.client_id, { client_secret: creds.client_secret }, auth);
  config.timeout = opts.timeoutSeconds;
  config[oidc.customFetch] = jsonTokenResponses(source === 'catalogue' ? platformFetch : opts.guardedFetch);
  if (insecure.length) oidc.allowInsecureRequests(config);
  return config;
}

export async function authorizationUrl(
  config: oidc.Configuration,
  details: OAuth2Details,
  p: { redirectUri: string; state: string; scopes: string[]; userScopes?: string[]; codeVerifier?: string },
) {
  const params: Record<string, string> = {
    response_type: 'code',
    redirect_uri: p.redirectUri,
    state: p.state,
    ...details.authorize_params,
  };
  if (p.scopes.length) params.scope = p.scopes.join(details.scope_separator);
  if (p.userScopes?.length) params.user_scope = p.userScopes.join(details.scope_separator);
  if (p.codeVerifier) {
    params.code_challenge = await oidc.calculatePKCECodeChallenge(p.codeVerifier);
    params.code_challenge_method = 'S256';
  }
  return oidc.buildAuthorizationUrl(config, params).href;
}

export function classify(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  // openid-client wraps what fetch threw in its `cause`.
  const refused = err instanceof EgressRefusedError ? err : (err as { cause?: unknown } | undefined)?.cause;
  if (refused instanceof EgressRefusedError) {
    // Says nothing about the grant (an operator may yet allow the address), hence transient.
    return new ProviderError('transient', 'egress_refused', "The provider's endpoint resolves to an address this server does not call (loopback, private or internal)");
  }
  if (err instanceof oidc.ResponseBodyError) {
    const transient = err.status >= 500 || err.status === 429;
    return new ProviderError(transient ? 'transient' : 'permanent', err.error, err.error_description, err.status);
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 challenge: the client credentials were refused. Not the grant's fault, so not EXPIRED;
    // retried with backoff while the operator fixes the app credentials.
    return new ProviderError('transient', err.status === 401 ? 'invalid_client' : `http_${err.status}`, undefined, err.status);
  }
  const e = err as { name?: string; code?: string; cause?: unknown; message?: string };
  const status = (e.cause as { status?: number } | undefined)?.status;
  if (typeof status === 'number') {
    return new ProviderError(status >= 500 || status === 429 ? 'transient' : 'permanent', `http_${status}`, undefined, status);
  }
  // Timeouts, refused connections, DNS: nothing says the grant is dead.
  return new ProviderError('transient', e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : 'network_error');
}

export type TokenSet = Record<string, unknown> & { access_token: string; expires_in?: number; refresh_token?: string };

/** The token response as stored: every field the provider returned (Slack's authed_user too). */
function tokenSet(t: oidc.TokenEndpointResponse): TokenSet {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && typeof v !== 'function') out[k] = v;
  return out as TokenSet;
}

export async function exchangeCode(
  config: oidc.Configuration,
  callbackUrl: URL,
  checks: { state: string; codeVerifier?: string },
  details: OAuth2Details,
): Promise<TokenSet> {
  try {
    const t = await oidc.authorizationCodeGrant(
      config,
      callbackUrl,
      { expectedState: checks.state, pkceCodeVerifier: checks.codeVerifier, idTokenExpected: false },
      details.token_params,
    );
    return tokenSet(t);
  } catch (err) {
    throw classify(err);
  }
}

export async function refreshTokens(config: oidc.Configuration, refreshToken: string, details: OAuth2Details): Promise<TokenSet> {
  try {
    return tokenSet(await oidc.refreshTokenGrant(config, refreshToken, details.token_params));
  } catch (err) {
    throw classify(err);
  }
}

export async function revokeToken(config: oidc.Configuration, token: string, hint: 'access_token' | 'refresh_token') {
  try {
    await oidc.tokenRevocation(config, token, { token_type_hint: hint });
  } catch (err) {
    throw classify(err);
  }
}

export const randomState = oidc.randomState;
export const randomCodeVerifier = oidc.randomPKCECodeVerifier;
