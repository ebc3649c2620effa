/**
 * OAUTH1: the three-legged flow and signed resource requests against a loopback provider that
 * verifies signatures by RFC 5849's rules with its own code (HMAC-SHA1, RSA-SHA1, PLAINTEXT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/modules/auth-modes/http.js';
import { authorizeUrl, callbackVerifier, exchangeVerifier, requestTemporaryCredentials } from '../src/modules/auth-modes/oauth1.js';
import { authorizationHeader, type ConsumerCredentials } from '../src/modules/auth-modes/oauth1-signature.js';
import { loopbackHttp } from './support/loopback.js';
import { type OAuth1Provider, startOAuth1Provider } from './support/oauth1-provider.js';
import { rsaKeyPair } from './support/token-endpoints.js';

const rsa = rsaKeyPair();
const CONSUMERS: Record<string, ConsumerCredentials> = {
  hmac: { consumerKey: 'hmac-consumer', consumerSecret: 'kd94hf93k423kf44 & more!', signatureMethod: 'HMAC-SHA1' },
  rsa: { consumerKey: 'rsa-consumer', privateKey: rsa.privatePem, signatureMethod: 'RSA-SHA1' },
  plaintext: { consumerKey: 'pt-consumer', consumerSecret: 'pt-secret', signatureMethod: 'PLAINTEXT' },
};
const http = loopbackHttp();
let provider: OAuth1Provider;
let endpoints: { requestTokenUrl: string; authorizeUrl: string; accessTokenUrl: string };

beforeAll(async () => {
  provider = await startOAuth1Provider({
    'hmac-consumer': { secret: CONSUMERS.hmac!.consumerSecret },
    'rsa-consumer': { publicKey: rsa.publicKey },
    'pt-consumer': { secret: 'pt-secret' },
  });
  endpoints = { requestTokenUrl: `${provider.url}/oauth/request_token`, authorizeUrl: `${provider.url}/oauth/authorize`, accessTokenUrl: `${provider.url}/oauth/access_token` };
});
afterAll(() => provider.close());

/** The user's consent: the provider redirects to the callback with the token and verifier. */
async function consent(url: string): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

describe.each(Object.keys(CONSUMERS))('three-legged flow, %s', (name) => {
  it('request token → authorize → access token → a signed resource request', async () => {
    const consumer = CONSUMERS[name]!;
    const temp = await requestTemporaryCredentials(http, endpoints, consumer, 'https://latchkey.example/api/v3/toolkits/auth/callback?state=s1');
    const url = authorizeUrl(endpoints, temp);
    expect(new URL(url).searchParams.get('oauth_token')).toBe(temp.token);

    const callback = await consent(url);
    expect(callback.searchParams.get('state')).toBe('s1');
    const verifier = callbackVerifier(callback.searchParams, temp);
    const tokens = await exchangeVerifier(http, endpoints, consumer, temp, verifier);
    expect(tokens).toMatchObject({ user_id: '42', screen_name: 'ada' });
    expect(tokens.oauth_token).toMatch(/^at-/);

    // The header for an arbitrary request: query and form body are signed too.
    const target = `${provider.url}/api/me?count=2&q=${encodeURIComponent('a b+c/ü')}`;
    const form = { status: "Hello Ladies + Gentlemen, a signed OAuth request!", empty: '' };
    const res = await fetch(target, {
      method: 'POST',
      headers: {
        authorization: authorizationHeader({ method: 'POST', url: target, form }, consumer, { token: tokens.oauth_token, tokenSecret: tokens.oauth_token_secret }),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: '42', query: { q: 'a b+c/ü' }, form });
  });
});

describe('refusals', () => {
  it('a wrong consumer secret: the provider refuses the signature → permanent', async () => {
    const err = await requestTemporaryCredentials(http, endpoints, { ...CONSUMERS.hmac!, consumerSecret: 'wrong' }, 'https://cb.example/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'permanent', error: 'signature_invalid', status: 401 });
  });

  it('a body changed after signing is refused', async () => {
    const temp = await requestTemporaryCredentials(http, endpoints, CONSUMERS.hmac!, 'https://cb.example/');
    const tokens = await exchangeVerifier(http, endpoints, CONSUMERS.hmac!, temp, callbackVerifier((await consent(authorizeUrl(endpoints, temp))).searchParams, temp));
    const target = `${provider.url}/api/me`;
    const res = await fetch(target, {
      method: 'POST',
      headers: {
        authorization: authorizationHeader({ method: 'POST', url: target, form: { amount: '1' } }, CONSUMERS.hmac!, { token: tokens.oauth_token, tokenSecret: tokens.oauth_token_secret }),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'amount=1000',
    });
    expect(res.status).toBe(401);
    expect(provider.refusals.at(-1)).toBe('signature_invalid');
  });

  it('a wrong verifier → permanent; a callback for another token or a denial is refused before any request', async () => {
    const temp = await requestTemporaryCredentials(http, endpoints, CONSUMERS.hmac!, 'https://cb.example/');
    await expect(exchangeVerifier(http, endpoints, CONSUMERS.hmac!, temp, 'guess')).rejects.toMatchObject({ kind: 'permanent', error: 'verifier_invalid' });
    expect(() => callbackVerifier(new URLSearchParams({ oauth_token: 'rt-other', oauth_verifier: 'v' }), temp)).toThrow(/token_mismatch/);
    expect(() => callbackVerifier(new URLSearchParams({ oauth_token: temp.token }), temp)).toThrow(/missing_verifier/);
    expect(() => callbackVerifier(new URLSearchParams({ denied: temp.token }), temp)).toThrow(/access_denied/);
  });

  it('an OAuth 1.0 provider that does not confirm the callback is refused', async () => {
    const old = await startOAuth1Provider({ 'hmac-consumer': { secret: CONSUMERS.hmac!.consumerSecret } }, { confirmCallback: false });
    try {
      await expect(requestTemporaryCredentials(http, { requestTokenUrl: `${old.url}/oauth/request_token` }, CONSUMERS.hmac!, 'https://cb.example/')).rejects.toMatchObject({
        kind: 'permanent',
        error: 'callback_not_confirmed',
      });
    } finally {
      await old.close();
    }
  });

  it('a provider that is down is transient', async () => {
    const gone = `${provider.url.replace(/:\d+$/, ':1')}/oauth/request_token`;
    await expect(requestTemporaryCredentials(http, { requestTokenUrl: gone }, CONSUMERS.hmac!, 'https://cb.example/')).rejects.toMatchObject({ kind: 'transient', error: 'network_error' });
  });
});
