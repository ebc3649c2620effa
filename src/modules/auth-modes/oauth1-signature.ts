/**
 * OAuth 1.0a request signing (RFC 5849 §3): the signature base string, HMAC-SHA1, RSA-SHA1 and
 * PLAINTEXT, and the `Authorization: OAuth ...` header for any request (method, URL with query,
 * form body). Used by the three-legged flow (oauth1.ts) and, later, by auth_params and the proxy,
 * which sign the caller's own requests.
 *
 * Written here rather than taken from npm: `oauth-1.0a` (the usual choice) has had no release since
 * 2019 and signs RSA-SHA1 only through a caller-supplied hash; this is ~150 lines of node:crypto,
 * checked against the RFC's own examples (oauth1-signature.test.ts).
 */
import { createHmac, createSign, randomBytes } from 'node:crypto';

export type SignatureMethod = 'HMAC-SHA1' | 'RSA-SHA1' | 'PLAINTEXT';

export type ConsumerCredentials = {
  consumerKey: string;
  /** HMAC-SHA1 and PLAINTEXT. */
  consumerSecret?: string;
  /** RSA-SHA1: the consumer's PEM private key (the provider holds the public key). */
  privateKey?: string;
  signatureMethod: SignatureMethod;
};

/** Temporary (request) or token credentials. */
export type TokenCredentials = { token: string; tokenSecret: string };

export type SignableRequest = {
  method: string;
  /** Absolute URL; its query parameters are signed. */
  url: string;
  /** Form body parameters (application/x-www-form-urlencoded only; other bodies are not signed). */
  form?: Record<string, string> | URLSearchParams;
};

/** RFC 5849 §3.6: RFC 3986 unreserved characters stay, every other UTF-8 byte is %XX (upper case). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** §3.4.1.2: scheme and host in lower case, default ports dropped, no query or fragment. */
export function baseStringUri(url: URL): string {
  const scheme = url.protocol.toLowerCase();
  const defaultPort = (scheme === 'http:' && url.port === '80') || (scheme === 'https:' && url.port === '443') || url.port === '';
  return `${scheme}//${url.hostname.toLowerCase()}${defaultPort ? '' : `:${url.port}`}${url.pathname}`;
}

/**
 * §3.4.1.3.2: every parameter (query, OAuth protocol parameters without oauth_signature and realm,
 * form body) encoded, sorted by name then value, joined with `=` and `&`.
 */
export function normalizedParameters(pairs: [string, string][]): string {
  return pairs
    .filter(([k]) => k !== 'oauth_signature' && k !== 'realm')
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The request's own parameters: its query and its form body, decoded. */
function requestPairs(req: SignableRequest): [string, string][] {
  const url = new URL(req.url);
  const form = req.form instanceof URLSearchParams ? [...req.form] : Object.entries(req.form ?? {});
  return [...url.searchParams, ...form];
}

/** §3.4.1: METHOD & encoded base URI & encoded normalized parameters. */
export function signatureBaseString(req: SignableRequest, oauthParams: Record<string, string>): string {
  const pairs = [...requestPairs(req), ...Object.entries(oauthParams)];
  return [req.method.toUpperCase(), percentEncode(baseStringUri(new URL(req.url))), percentEncode(normalizedParameters(pairs))].join('&');
}

/** §3.4.2 / §3.4.4: the key is the encoded consumer secret and token secret joined by `&`. */
function signingKey(consumer: ConsumerCredentials, token?: TokenCredentials) {
  return `${percentEncode(consumer.consumerSecret ?? '')}&${percentEncode(token?.tokenSecret ?? '')}`;
}

export function sign(baseString: string, consumer: ConsumerCredentials, token?: TokenCredentials): string {
  switch (consumer.signatureMethod) {
    case 'HMAC-SHA1':
      return createHmac('sha1', signingKey(consumer, token)).update(baseString, 'utf8').digest('base64');
    case 'RSA-SHA1': {
      if (!consumer.privateKey) throw new Error('RSA-SHA1 needs the consumer private key');
      return createSign('RSA-SHA1').update(baseString, 'utf8').sign(consumer.privateKey, 'base64');
    }
    case 'PLAINTEXT':
      return signingKey(consumer, token);
  }
}

export type SigningOptions = {
  /** Extra protocol parameters: oauth_callback (request token), oauth_verifier (access token). */
  extra?: Record<string, string>;
  realm?: string;
  /** Fixed in tests against the RFC's examples; random and current otherwise. */
  nonce?: string;
  timestamp?: string;
  /** oauth_version is optional (§3.1); sent as "1.0" unless this is false. */
  includeVersion?: boolean;
};

/** The oauth_* parameters of a request, signature included. */
export function oauthParameters(req: SignableRequest, consumer: ConsumerCredentials, token?: TokenCredentials, opts: SigningOptions = {}) {
  const params: Record<string, string> = {
    oauth_consumer_key: consumer.consumerKey,
    oauth_signature_method: consumer.signatureMethod,
    oauth_timestamp: opts.timestamp ?? String(Math.floor(Date.now() / 1000)),
    oauth_nonce: opts.nonce ?? randomBytes(16).toString('hex'),
    ...(opts.includeVersion === false ? {} : { oauth_version: '1.0' }),
    ...(token ? { oauth_token: token.token } : {}),
    ...opts.extra,
  };
  // PLAINTEXT signs no base string (§3.4.4); computing one would only cost.
  const base = consumer.signatureMethod === 'PLAINTEXT' ? '' : signatureBaseString(req, params);
  params.oauth_signature = sign(base, consumer, token);
  return params;
}

/** §3.5.1: `OAuth realm="...", oauth_consumer_key="...", ...`, every value encoded and quoted. */
export function authorizationHeader(req: SignableRequest, consumer: ConsumerCredentials, token?: TokenCredentials, opts: SigningOptions = {}): string {
  const params = oauthParameters(req, consumer, token, opts);
  const parts = Object.entries(params).map(([k, v]) => `${percentEncode(k)}="${percentEncode(v)}"`);
  if (opts.realm !== undefined) parts.unshift(`realm="${percentEncode(opts.realm)}"`);
  return `OAuth ${parts.join(', ')}`;
}
