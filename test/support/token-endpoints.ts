/**
 * Token endpoints for the non-interactive auth modes, verifying what a real provider verifies:
 * - `/cc/token`: client credentials (RFC 6749 §4.4) with client_secret_basic or _post;
 * - `/google/token`: the JWT bearer grant (RFC 7523), the assertion's RS256 signature checked
 *   with the service account's public key, and its iss/aud/iat/exp as Google checks them;
 * - `/github/app/installations/{id}/access_tokens`: a GitHub App JWT checked with the app's public
 *   key (iss, iat not in the future, exp at most 10 minutes ahead).
 * `script` overrides the next answer (status/body/headers) so tests can provoke each failure;
 * `skewClock` sets the provider's clock off Latchkey's, as a provider with a drifting clock (or a
 * Latchkey host with one) would be.
 */
import { createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { type Answer, type LoopbackRequest, startLoopback } from './loopback.js';

/** Seconds a JWT's iat may be in the future (the provider's tolerance for clock skew). */
export const CLOCK_TOLERANCE_S = 60;

export function rsaKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

/** Verifies an RS256 JWT's signature; returns its claims or undefined. */
export function verifyJwt(jwt: string, publicKey: KeyObject): { header: Record<string, unknown>; claims: Record<string, unknown> } | undefined {
  const [h, c, s] = jwt.split('.');
  if (!h || !c || !s) return undefined;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== 'RS256') return undefined;
  if (!createVerify('RSA-SHA256').update(`${h}.${c}`).verify(publicKey, Buffer.from(s, 'base64url'))) return undefined;
  return { header, claims: JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown> };
}

export const CC_CLIENT = { id: 'svc client', secret: 's3cr3t:with/odd+chars' };

export async function startTokenEndpoints() {
  const google = { ...rsaKeyPair(), email: 'robot@proj.iam.gserviceaccount.com' };
  const github = { ...rsaKeyPair(), appId: '123456', installationId: '7890' };
  const scripts: Answer[] = [];
  let issued = 0;
  let skewMs = 0;
  const providerNow = () => Math.floor((Date.now() + skewMs) / 1000);
  const bad = (status: number, error: string, description?: string): Answer => ({ status, body: { error, ...(description ? { error_description: description } : {}) } });

  function clientCredentials(req: LoopbackRequest): Answer {
    let id = req.form.client_id;
    let secret = req.form.client_secret;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) {
      // RFC 6749 §2.3.1: each part form-urlencoded before base64.
      const [u, p] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      id = decodeURIComponent((u ?? '').replace(/\+/g, ' '));
      secret = decodeURIComponent((p ?? '').replace(/\+/g, ' '));
    }
    if (req.form.grant_type !== 'client_credentials') return bad(400, 'unsupported_grant_type');
    if (id !== CC_CLIENT.id || secret !== CC_CLIENT.secret) return { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' }, body: { error: 'invalid_client' } };
    if (req.form.scope?.split(/[ ,]/).includes('admin')) return bad(400, 'invalid_scope', 'admin is not granted to this client');
    issued += 1;
    return { status: 200, body: { access_token: `cc-token-${issued}`, token_type: 'Bearer', expires_in: 3600, scope: req.form.scope } };
  }

  function jwtBearer(req: LoopbackRequest, base: string): Answer {
    if (req.form.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return bad(400, 'unsupported_grant_type');
    const jwt = verifyJwt(req.form.assertion ?? '', google.publicKey);
    if (!jwt) return bad(400, 'invalid_grant', 'Invalid JWT Signature.');
    const { iss, aud, iat, exp, scope } = jwt.claims as { iss: string; aud: string; iat: number; exp: number; scope: string };
    const now = providerNow();
    if (iss !== google.email) return bad(400, 'invalid_grant', 'Invalid issuer');
    if (aud !== `${base}/google/token`) return bad(400, 'invalid_grant', 'Invalid audience');
    if (iat > now + CLOCK_TOLERANCE_S || exp <= now || exp - iat > 3600) {
      return bad(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values');
    }
    issued += 1;
    return { status: 200, body: { access_token: `ya29.google-${issued}`, token_type: 'Bearer', expires_in: 3599, ...(jwt.claims.sub ? { sub_seen: jwt.claims.sub } : {}), scope_seen: scope } };
  }

  function installation(req: LoopbackRequest): Answer {
    const m = /^\/github\/app\/installations\/([^/]+)\/access_tokens$/.exec(req.url.pathname);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const jwt = bearer ? verifyJwt(bearer[1]!, github.publicKey) : undefined;
    const message = (status: number, text: string): Answer => ({ status, body: { message: text, documentation_url: 'https://docs.github.com/rest' } });
    if (!jwt) return message(401, 'A JSON web token could not be decoded');
    const { iss, iat, exp } = jwt.claims as { iss: string; iat: number; exp: number };
    const now = providerNow();
    if (iss !== github.appId) return message(401, 'Integration not found');
    if (iat > now + CLOCK_TOLERANCE_S) return message(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past.");
    if (exp > now + 600 || exp <= now) return message(401, "'Expiration time' claim ('exp') is too far in the future");
    if (m?.[1] !== github.installationId) return message(404, 'Not Found');
    issued += 1;
    return { status: 201, body: { token: `ghs_installation${issued}`, expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), permissions: { contents: 'read' }, repository_selection: 'all' } };
  }

  const server = await startLoopback((req, base) => {
    const scripted = scripts.shift();
    if (scripted) return scripted;
    if (req.url.pathname === '/cc/token') return clientCredentials(req);
    if (req.url.pathname === '/google/token') return jwtBearer(req, base);
    if (req.url.pathname.startsWith('/github/')) return installation(req);
    return { status: 404, body: { error: 'not_found' } };
  });
  return {
    ...server,
    google,
    github,
    /** The next answers, in order, whatever the request. */
    script: (...answers: Answer[]) => scripts.push(...answers),
    /** The provider's clock, `ms` ahead of the real one (negative: behind). */
    skewClock: (ms: number) => void (skewMs = ms),
  };
}
export type TokenEndpoints = Awaited<ReturnType<typeof startTokenEndpoints>>;
