/**
 * An OAuth 1.0a provider on loopback that verifies every request by RFC 5849's rules, with its own
 * implementation of them (not Latchkey's): the Authorization header parsed (§3.5.1), the base
 * string rebuilt from what arrived on the wire (§3.4.1: query, body if form-encoded, protocol
 * parameters), HMAC-SHA1 / RSA-SHA1 (with the consumer's public key) / PLAINTEXT checked, the
 * timestamp within 5 minutes and each nonce used once (§3.3).
 * Endpoints: /oauth/request_token, /oauth/authorize (auto-approves: 302 to the callback),
 * /oauth/access_token and /api/me (a protected resource).
 */
import { createHmac, createVerify, type KeyObject, randomBytes } from 'node:crypto';
import { type LoopbackRequest, startLoopback } from './loopback.js';

export type Consumer = { secret?: string; publicKey?: KeyObject };

const enc = (s: string) => Buffer.from(s, 'utf8').reduce((out, b) => out + (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`), '');

function parseHeader(h: string | undefined): Record<string, string> | undefined {
  if (!h?.startsWith('OAuth ')) return undefined;
  const out: Record<string, string> = {};
  for (const part of h.slice(6).split(',')) {
    const m = /^\s*([^=\s]+)="([^"]*)"\s*$/.exec(part);
    if (!m) return undefined;
    out[decodeURIComponent(m[1]!)] = decodeURIComponent(m[2]!);
  }
  return out;
}

function baseString(req: LoopbackRequest, oauth: Record<string, string>): string {
  const pairs: [string, string][] = [...req.url.searchParams];
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) pairs.push(...new URLSearchParams(req.body));
  for (const [k, v] of Object.entries(oauth)) if (k !== 'realm' && k !== 'oauth_signature') pairs.push([k, v]);
  const normalized = pairs
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort((a, b) => {
      const [ak, av] = a.split('=');
      const [bk, bv] = b.split('=');
      return ak! === bk! ? (av! < bv! ? -1 : av! > bv! ? 1 : 0) : ak! < bk! ? -1 : 1;
    })
    .join('&');
  const uri = `http://${String(req.headers.host).toLowerCase()}${req.url.pathname}`;
  return `${req.method.toUpperCase()}&${enc(uri)}&${enc(normalized)}`;
}

export async function startOAuth1Provider(consumers: Record<string, Consumer>, opts: { confirmCallback?: boolean } = {}) {
  const temporary = new Map<string, { secret: string; consumer: string; callback: string; verifier: string }>();
  const access = new Map<string, { secret: string; consumer: string }>();
  const nonces = new Set<string>();
  const refusals: string[] = [];
  const form = (status: number, fields: Record<string, string>) => ({
    status,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const problem = (p: string) => (refusals.push(p), form(401, { oauth_problem: p }));

  /** Checks the request's signature with the given token secret; returns the protocol params or a problem. */
  function verify(req: LoopbackRequest, tokenSecret: (token: string | undefined) => string | undefined): Record<string, string> | string {
    const p = parseHeader(req.headers.authorization);
    if (!p) return 'parameter_absent';
    const consumer = consumers[p.oauth_consumer_key ?? ''];
    if (!consumer) return 'consumer_key_unknown';
    if (Math.abs(Number(p.oauth_timestamp) - Date.now() / 1000) > 300) return 'timestamp_refused';
    const nonceKey = `${p.oauth_consumer_key}:${p.oauth_timestamp}:${p.oauth_nonce}`;
    if (!p.oauth_nonce || nonces.has(nonceKey)) return 'nonce_used';
    const ts = tokenSecret(p.oauth_token);
    if (ts === undefined) return 'token_rejected';
    const key = `${enc(consumer.secret ?? '')}&${enc(ts)}`;
    const sig = p.oauth_signature ?? '';
    const ok =
      p.oauth_signature_method === 'HMAC-SHA1'
        ? createHmac('sha1', key).update(baseString(req, p)).digest('base64') === sig
        : p.oauth_signature_method === 'RSA-SHA1'
          ? !!consumer.publicKey && createVerify('RSA-SHA1').update(baseString(req, p)).verify(consumer.publicKey, sig, 'base64')
          : p.oauth_signature_method === 'PLAINTEXT'
            ? sig === key
            : false;
    if (!ok) return 'signature_invalid';
    nonces.add(nonceKey);
    return p;
  }

  const server = await startLoopback((req) => {
    switch (req.url.pathname) {
      case '/oauth/request_token': {
        const p = verify(req, (t) => (t ? undefined : ''));
        if (typeof p === 'string') return problem(p);
        if (!p.oauth_callback) return problem('parameter_absent');
        const token = `rt-${randomBytes(8).toString('hex')}`;
        const secret = randomBytes(12).toString('base64');
        temporary.set(token, { secret, consumer: p.oauth_consumer_key!, callback: p.oauth_callback, verifier: randomBytes(8).toString('hex') });
        return form(200, { oauth_token: token, oauth_token_secret: secret, ...(opts.confirmCallback === false ? {} : { oauth_callback_confirmed: 'true' }) });
      }
      case '/oauth/authorize': {
        const t = temporary.get(req.url.searchParams.get('oauth_token') ?? '');
        if (!t) return { status: 400, body: 'unknown token' };
        const back = new URL(t.callback);
        back.searchParams.set('oauth_token', req.url.searchParams.get('oauth_token')!);
        back.searchParams.set('oauth_verifier', t.verifier);
        return { status: 302, headers: { location: back.href } };
      }
      case '/oauth/access_token': {
        const p = verify(req, (t) => temporary.get(t ?? '')?.secret);
        if (typeof p === 'string') return problem(p);
        const t = temporary.get(p.oauth_token!)!;
        if (p.oauth_verifier !== t.verifier) return problem('verifier_invalid');
        temporary.delete(p.oauth_token!);
        const token = `at-${randomBytes(8).toString('hex')}`;
        const secret = randomBytes(12).toString('base64');
        access.set(token, { secret, consumer: t.consumer });
        return form(200, { oauth_token: token, oauth_token_secret: secret, user_id: '42', screen_name: 'ada' });
      }
      case '/api/me': {
        const p = verify(req, (t) => access.get(t ?? '')?.secret);
        if (typeof p === 'string') return problem(p);
        return { status: 200, body: { user_id: '42', query: Object.fromEntries(req.url.searchParams), form: req.form } };
      }
      default:
        return { status: 404, body: 'not found' };
    }
  });
  /** Revokes an access token at the provider, as a user removing the app's access does. */
  const revoke = (token: string) => access.delete(token);
  return { ...server, refusals, revoke };
}
export type OAuth1Provider = Awaited<ReturnType<typeof startOAuth1Provider>>;
