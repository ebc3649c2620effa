/**
 * A real OAuth 2.0 provider for tests: oauth2-mock-server on 127.0.0.1 with a generated RS256 key.
 * It records every request that reaches its token and revocation endpoints, remembers every token
 * and code it issued (so tests can look for them in logs), and can be scripted one request at a
 * time: the next token response, the next revocation status, the next consent (denied), or a delay
 * on token responses.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HttpServer,
  type MutableRedirectUri,
  type MutableResponse,
  type MutableToken,
  OAuth2Issuer,
  OAuth2Service,
  type TokenRequestIncomingMessage,
} from 'oauth2-mock-server';

/** A token request as the provider received it (form fields). */
export type TokenCall = Record<string, string | undefined> & { grant_type: string };
/** A scripted answer for one token request: change the status and body the provider sends. */
export type TokenScript = (res: MutableResponse, call: TokenCall) => void;

export type MockProvider = Awaited<ReturnType<typeof startProvider>>;
/** A scripted revocation answer: a status, or a status with an RFC 6749 error body. */
export type RevokeScript = number | { status: number; error: string };

/** Answers for the next token request. */
export const fail = {
  invalidGrant: (): TokenScript => (res) => {
    res.statusCode = 400;
    res.body = { error: 'invalid_grant', error_description: 'The refresh token is invalid or revoked' };
  },
  status:
    (statusCode: number, error = 'temporarily_unavailable'): TokenScript =>
    (res) => {
      res.statusCode = statusCode;
      res.body = { error, error_description: `provider answered ${statusCode}` };
    },
};

export async function startProvider() {
  let tokenDelayMs = 0;
  // Token requests being answered right now, and the most there have been at once.
  let tokensInFlight = 0;
  let mostTokensInFlight = 0;
  // OAuth2Server's parts, assembled here so that token requests can be held back (delayTokens):
  // the mock answers inside its own handler, synchronously after its last hook, so a delay has to
  // sit in front of the handler rather than in a hook.
  const oauthIssuer = new OAuth2Issuer();
  const service = new OAuth2Service(oauthIssuer);
  const http = new HttpServer((req, res) => {
    // The revocation hook gets only the request; it may answer through this.
    (req as unknown as { lkResponse?: ServerResponse }).lkResponse = res;
    const isToken = req.method === 'POST' && !!req.url?.startsWith('/token');
    if (isToken) {
      mostTokensInFlight = Math.max(mostTokensInFlight, ++tokensInFlight);
      res.on('close', () => void tokensInFlight--);
    }
    const delay = isToken ? tokenDelayMs : 0;
    if (delay > 0) void sleep(delay).then(() => service.requestHandler(req, res));
    else void service.requestHandler(req, res);
  });
  await oauthIssuer.keys.generate('RS256');
  await http.start(0, '127.0.0.1');
  oauthIssuer.url = `http://127.0.0.1:${http.address().port}`;
  const issuer = oauthIssuer.url;

  const tokenCalls: TokenCall[] = [];
  const revokeCalls: Promise<Record<string, string>>[] = [];
  const tokenScripts: TokenScript[] = [];
  const revokeScripts: RevokeScript[] = [];
  const consentScripts: ((u: URL) => void)[] = [];
  /** Every code, token and state that passed through the provider. */
  const secrets = new Set<string>();

  // The mock signs JWTs deterministically from second-resolution claims: make every token unique,
  // as a real provider's are, so that "a new token" is observable.
  service.on('beforeTokenSigning', (token: MutableToken) => {
    token.payload.jti = randomUUID();
  });

  service.on('beforeResponse', (res: MutableResponse, req: TokenRequestIncomingMessage) => {
    const call = { ...(req.body as unknown as TokenCall) };
    tokenCalls.push(call);
    tokenScripts.shift()?.(res, call);
    if (res.body) for (const k of ['access_token', 'refresh_token', 'id_token']) if (typeof res.body[k] === 'string') secrets.add(res.body[k]);
  });

  service.on('beforeAuthorizeRedirect', (redirect: MutableRedirectUri) => {
    consentScripts.shift()?.(redirect.url);
    for (const k of ['code', 'state']) {
      const v = redirect.url.searchParams.get(k);
      if (v) secrets.add(v);
    }
  });

  service.on('beforeRevoke', (res: { statusCode: number }, req: IncomingMessage) => {
    const script = revokeScripts.shift();
    if (typeof script === 'number') res.statusCode = script;
    if (typeof script === 'object') {
      // The mock answers revocations with an empty body: its end() sends the error document instead.
      res.statusCode = script.status;
      const out = (req as unknown as { lkResponse: ServerResponse }).lkResponse;
      const end = out.end.bind(out);
      out.end = (() => {
        out.setHeader('content-type', 'application/json');
        return end(JSON.stringify({ error: script.error, error_description: `provider answered ${script.error}` }));
      }) as typeof out.end;
    }
    // The mock does not parse revocation bodies: read the form here (the handler answers at once,
    // so the listener must be attached before this hook returns).
    revokeCalls.push(
      new Promise((resolve) => {
        let raw = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (raw += c));
        req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(raw))));
      }),
    );
  });

  return {
    issuer,
    tokenCalls,
    secrets,
    /** The revocation requests received so far (token, token_type_hint, client_id, ...). */
    revocations: () => Promise.all(revokeCalls),
    /** Script the next token responses, in order. */
    nextToken: (...scripts: TokenScript[]) => void tokenScripts.push(...scripts),
    /** The next revocation requests answer these statuses (and error bodies), in order. */
    nextRevoke: (...scripts: RevokeScript[]) => void revokeScripts.push(...scripts),
    /** The next consent is refused by the user: the provider redirects back with an error. */
    denyNextConsent: (description: string) =>
      void consentScripts.push((u) => {
        u.searchParams.delete('code');
        u.searchParams.set('error', 'access_denied');
        u.searchParams.set('error_description', description);
      }),
    /** The most token requests the provider was answering at once since the last reset. */
    mostTokensInFlight: () => mostTokensInFlight,
    /** Delay every token response by `ms` (0 to stop). */
    delayTokens: (ms: number) => void (tokenDelayMs = ms),
    /** Forget scripts and delays (between tests). */
    reset: () => {
      tokenScripts.length = 0;
      revokeScripts.length = 0;
      consentScripts.length = 0;
      tokenDelayMs = 0;
      mostTokensInFlight = 0;
    },
    stop: () => http.stop(),
  };
}
