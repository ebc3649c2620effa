/**
 * OAUTH1: the three-legged OAuth 1.0a flow (RFC 5849 §2).
 *   1. temporary credentials: POST the request-token URL, signed, with `oauth_callback`;
 *      the provider must answer `oauth_callback_confirmed=true` (what makes it 1.0a);
 *   2. the user authorizes at `authorize_url?oauth_token=...`; the provider returns to the
 *      callback with `oauth_token` and `oauth_verifier`;
 *   3. token credentials: POST the access-token URL, signed with the temporary secret, with
 *      `oauth_verifier`.
 * Token credentials do not expire by protocol; there is no refresh.
 */
import { timingSafeEqual } from 'node:crypto';
import { type HttpOptions, ProviderError, readFields, refusal, send } from './http.js';
import { authorizationHeader, type ConsumerCredentials, type TokenCredentials } from './oauth1-signature.js';

export type OAuth1Endpoints = {
  requestTokenUrl: string;
  authorizeUrl: string;
  accessTokenUrl: string;
};

/** The answer of step 1: kept (the secret sealed) until the callback. */
export type TemporaryCredentials = TokenCredentials;

/** The answer of step 3: the token credentials plus whatever else the provider said (user_id, screen_name). */
export type OAuth1Tokens = { oauth_token: string; oauth_token_secret: string } & Record<string, string>;

async function signedPost(http: HttpOptions, url: string, consumer: ConsumerCredentials, token: TokenCredentials | undefined, extra: Record<string, string>) {
  const res = await send(http, url, {
    method: 'POST',
    headers: {
      authorization: authorizationHeader({ method: 'POST', url }, consumer, token, { extra }),
      accept: 'application/x-www-form-urlencoded, application/json',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: '',
  });
  const fields = await readFields(res);
  if (!res.ok) {
    // OAuth 1.0a providers say why in `oauth_problem` (the Problem Reporting extension) when they say at all.
    const problem = typeof fields?.oauth_problem === 'string' ? { error: fields.oauth_problem } : fields;
    throw refusal(res.status, problem);
  }
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields ?? {})) if (typeof v === 'string' || typeof v === 'number') strings[k] = String(v);
  if (!strings.oauth_token || !strings.oauth_token_secret) {
    throw new ProviderError('permanent', 'invalid_token_response', 'the provider answered without oauth_token and oauth_token_secret');
  }
  return strings as OAuth1Tokens;
}

/** Step 1. `callbackUrl` is Latchkey's callback, carrying the attempt's state. */
export async function requestTemporaryCredentials(
  http: HttpOptions,
  endpoints: Pick<OAuth1Endpoints, 'requestTokenUrl'>,
  consumer: ConsumerCredentials,
  callbackUrl: string,
): Promise<TemporaryCredentials> {
  const answer = await signedPost(http, endpoints.requestTokenUrl, consumer, undefined, { oauth_callback: callbackUrl });
  if (answer.oauth_callback_confirmed !== 'true') {
    // An OAuth 1.0 (not 1.0a) provider: without the verifier its callback can be forged.
    throw new ProviderError('permanent', 'callback_not_confirmed', 'the provider did not confirm the callback (OAuth 1.0a is required)');
  }
  return { token: answer.oauth_token, tokenSecret: answer.oauth_token_secret };
}

/** Step 2: where the user's browser goes (the contract's INITIATED `authUri` / `redirectUrl`). */
export function authorizeUrl(endpoints: Pick<OAuth1Endpoints, 'authorizeUrl'>, temporary: Pick<TemporaryCredentials, 'token'>): string {
  const url = new URL(endpoints.authorizeUrl);
  url.searchParams.set('oauth_token', temporary.token);
  return url.href;
}

/**
 * The callback's query, checked: its `oauth_token` must be the temporary token of this attempt
 * (compared in constant time) and carry a verifier. A provider's denial (`denied=...`) is refused.
 */
export function callbackVerifier(query: URLSearchParams, temporary: Pick<TemporaryCredentials, 'token'>): string {
  if (query.has('denied')) throw new ProviderError('permanent', 'access_denied', 'the user denied access');
  const token = Buffer.from(query.get('oauth_token') ?? '');
  const expected = Buffer.from(temporary.token);
  if (token.length !== expected.length || !timingSafeEqual(token, expected)) {
    throw new ProviderError('permanent', 'token_mismatch', 'the callback is not for this authorization');
  }
  const verifier = query.get('oauth_verifier');
  if (!verifier) throw new ProviderError('permanent', 'missing_verifier', 'the callback carries no oauth_verifier');
  return verifier;
}

/** Step 3: temporary credentials and the verifier for token credentials. */
export async function exchangeVerifier(
  http: HttpOptions,
  endpoints: Pick<OAuth1Endpoints, 'accessTokenUrl'>,
  consumer: ConsumerCredentials,
  temporary: TemporaryCredentials,
  verifier: string,
): Promise<OAuth1Tokens> {
  const answer = await signedPost(http, endpoints.accessTokenUrl, consumer, temporary, { oauth_verifier: verifier });
  delete answer.oauth_callback_confirmed;
  return answer;
}
