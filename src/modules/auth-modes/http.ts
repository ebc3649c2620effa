/**
 * The one way the auth modes talk to a provider. Every call goes through an injected `fetch` (the
 * egress guard, once it lands; a plain `fetch` in tests against loopback servers), with a timeout,
 * and never follows a redirect: a 3xx from a token or metadata endpoint is an answer, not a hop,
 * so a project-supplied URL cannot bounce a credential to a host nobody checked.
 *
 * Failures become the oauth module's ProviderError, classified once: `permanent` (the provider
 * refused these credentials or this request; retrying the same thing cannot help) or `transient`
 * (5xx, 429, timeouts, network: nothing says the credentials are bad).
 */
import { ProviderError } from '../oauth/oauth-client.js';

export { ProviderError };

/** What the modes need of `fetch`: the egress guard has this shape. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export type HttpOptions = {
  fetch: Fetch;
  /** Milliseconds per request (connect, headers and body). */
  timeoutMs: number;
  /** Plain-HTTP URLs are refused unless they are loopback and this is set (OAUTH_ALLOW_INSECURE_LOOPBACK). */
  allowInsecureLoopback?: boolean;
};

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** https, or http on a loopback host when allowed; anything else is refused before any request. */
export function checkUrl(http: Pick<HttpOptions, 'allowInsecureLoopback'>, url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProviderError('permanent', 'invalid_url', 'not an absolute URL');
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && http.allowInsecureLoopback && LOOPBACK.test(u.hostname)) return u;
  throw new ProviderError('permanent', 'insecure_url', 'provider endpoints must be https');
}

/** 5xx and 429 are worth retrying; any other refusal is not. */
export const isTransientStatus = (status: number) => status >= 500 || status === 429;

/** One request: timeout, no redirects, network failures and timeouts as transient ProviderErrors. */
export async function send(http: HttpOptions, url: string, init: RequestInit): Promise<Response> {
  checkUrl(http, url);
  let res: Response;
  try {
    res = await http.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(http.timeoutMs) });
  } catch (err) {
    // The injected fetch (the egress guard) may refuse a URL with a classified error of its own.
    if (err instanceof ProviderError) throw err;
    const name = (err as { name?: string }).name;
    throw new ProviderError('transient', name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network_error');
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    // A redirect from an endpoint that must answer directly: misconfigured, not flaky.
    throw new ProviderError('permanent', 'unexpected_redirect', `the endpoint answered ${res.status}`, res.status);
  }
  return res;
}

/**
 * A response body as fields: JSON objects as they are, form-encoded (or text/plain of that shape,
 * which some OAuth 1.0a and older OAuth 2.0 providers send whatever Accept says) as strings.
 * Reading the body is bounded by the same timeout as the request.
 */
export async function readFields(res: Response): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await res.text();
  } catch {
    throw new ProviderError('transient', 'timeout');
  }
  const type = res.headers.get('content-type') ?? '';
  if (/json/i.test(type) || /^\s*\{/.test(text)) {
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  if (/x-www-form-urlencoded|text\/plain/i.test(type) || /^[\w.~%+-]+=/.test(text)) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return undefined;
}

/** The ProviderError for a non-2xx answer, from its status and OAuth `error` field if any. */
export function refusal(status: number, fields: Record<string, unknown> | undefined): ProviderError {
  const error = typeof fields?.error === 'string' ? fields.error : `http_${status}`;
  const description = typeof fields?.error_description === 'string' ? fields.error_description : undefined;
  // invalid_client, invalid_scope, ... and any other 4xx: the same request will be refused again.
  return new ProviderError(isTransientStatus(status) ? 'transient' : 'permanent', error, description, status);
}

export type TokenResponse = Record<string, unknown> & {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  /** Absolute expiry (ISO-8601), computed from `expires_in` when the provider gave one. */
  expires_at?: string;
  scope?: string;
};

/**
 * A token endpoint's successful answer, normalised: `access_token` required, `expires_in` a number
 * (form bodies carry strings), `expires_at` added. A 2xx without an access token is permanent: the
 * endpoint does not speak this grant.
 */
export function tokenResponse(fields: Record<string, unknown> | undefined, now: Date): TokenResponse {
  if (!fields || typeof fields.access_token !== 'string' || !fields.access_token) {
    throw new ProviderError('permanent', 'invalid_token_response', 'the token endpoint answered without an access_token');
  }
  const out: Record<string, unknown> = { ...fields };
  const expiresIn = typeof fields.expires_in === 'string' && /^\d+$/.test(fields.expires_in) ? Number(fields.expires_in) : fields.expires_in;
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) {
    out.expires_in = expiresIn;
    out.expires_at = new Date(now.getTime() + expiresIn * 1000).toISOString();
  } else {
    delete out.expires_in;
  }
  return out as TokenResponse;
}

/** POST a form to a token endpoint and return its tokens, or the classified refusal. */
export async function postTokenForm(
  http: HttpOptions,
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
  now: () => Date = () => new Date(),
): Promise<TokenResponse> {
  const res = await send(http, url, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const fields = await readFields(res);
  if (!res.ok) throw refusal(res.status, fields);
  return tokenResponse(fields, now());
}
