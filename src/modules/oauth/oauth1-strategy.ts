/**
 * OAUTH1 (RFC 5849, three-legged) in the account lifecycle, over the protocol pieces in
 * auth-modes/oauth1*.ts:
 * - start: temporary credentials with `oauth_callback` = Latchkey's callback carrying the attempt's
 *   `state` (providers keep the callback's query), then INITIATED with `oauth_token`,
 *   `oauth_token_secret` (sealed with the account, secret), `authUri` and `redirectUrl` (the same URL);
 * - callback: the `oauth_token` must be this attempt's temporary token (constant time), the
 *   `oauth_verifier` is exchanged for token credentials → ACTIVE with `oauth_token`,
 *   `oauth_token_secret`, `oauth_verifier`, `consumer_key` and what else the provider said
 *   (Twitter's `user_id`, `screen_name`);
 * - signing: `sign()` computes the `Authorization: OAuth …` header for a caller's method and URL
 *   (auth_params and the proxy), with the consumer secret or RSA key from the auth config.
 * Token credentials do not expire by protocol: no refresh.
 */
import { AppError } from '../../lib/errors.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import type { HttpOptions } from '../auth-modes/http.js';
import { authorizeUrl, callbackVerifier, exchangeVerifier, requestTemporaryCredentials } from '../auth-modes/oauth1.js';
import { authorizationHeader, type ConsumerCredentials, type SignableRequest, type SignatureMethod } from '../auth-modes/oauth1-signature.js';
import { fill } from '../connected-accounts/auth-params.js';
import type { OAuth1Details } from '../toolkits/toolkit-definition.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import type { RedirectStrategy } from './redirect-strategy.js';

type Val = Record<string, unknown>;

/** Fields of an INITIATED OAuth1 account that the callback replaces. */
const TEMPORARY = ['oauth_token', 'oauth_token_secret', 'authUri', 'redirectUrl', 'error', 'error_description', 'expired_at', 'revoked_at'];
export const OAUTH1_SECRET_FIELDS = ['oauth_token', 'oauth_token_secret'];
const METHODS: SignatureMethod[] = ['HMAC-SHA1', 'RSA-SHA1', 'PLAINTEXT'];

export function oauth1Strategy(deps: {
  toolkits: Pick<ToolkitsService, 'resolve'>;
  openConfigCredentials: (row: AuthConfigRow) => Record<string, unknown>;
  http: HttpOptions;
  callbackUrl: (cfg: AuthConfigRow) => string;
}) {
  async function details(cfg: AuthConfigRow): Promise<OAuth1Details> {
    const toolkit = await deps.toolkits.resolve(cfg.projectId, cfg.toolkitSlug);
    const d = toolkit.definition.auth_schemes.find((s) => s.mode === 'OAUTH1')?.oauth1;
    if (!d) throw new AppError('ConnectedAccount_NotSupported', `Toolkit ${cfg.toolkitSlug} has no OAuth 1.0a details`);
    return d;
  }

  /** The consumer from the auth config: key, and secret (HMAC-SHA1, PLAINTEXT) or private key (RSA-SHA1). */
  function consumerOf(cfg: AuthConfigRow, d: OAuth1Details): ConsumerCredentials {
    const c = deps.openConfigCredentials(cfg);
    const method = (typeof c.signature_method === 'string' && METHODS.includes(c.signature_method as SignatureMethod) ? c.signature_method : d.signature_method) as SignatureMethod;
    const key = c.consumer_key;
    const secret = typeof c.consumer_secret === 'string' ? c.consumer_secret : undefined;
    const privateKey = typeof c.private_key === 'string' ? c.private_key : undefined;
    if (typeof key !== 'string' || !key || (method === 'RSA-SHA1' ? !privateKey : secret === undefined)) {
      throw new AppError('AuthConfig_InvalidRequest', `Auth config ${cfg.id} has no OAuth 1.0a consumer credentials`, {
        suggestedFix:
          method === 'RSA-SHA1'
            ? 'PATCH the auth config with credentials.consumer_key and credentials.private_key (PEM)'
            : 'PATCH the auth config with credentials.consumer_key and credentials.consumer_secret',
      });
    }
    return { consumerKey: key, consumerSecret: secret, privateKey, signatureMethod: method };
  }

  const endpoints = (d: OAuth1Details, values: Val) => ({
    requestTokenUrl: fill(d.request_token_url, values),
    authorizeUrl: fill(d.authorize_url, values),
    accessTokenUrl: fill(d.access_token_url, values),
  });

  const strategy: RedirectStrategy & { sign: typeof sign } = {
    async start({ cfg, values, state, callbackUrl }) {
      const d = await details(cfg);
      const consumer = consumerOf(cfg, d);
      const ep = endpoints(d, values);
      const redirectUri = deps.callbackUrl(cfg);
      const back = new URL(redirectUri);
      back.searchParams.set('state', state);
      const temporary = await requestTemporaryCredentials(deps.http, ep, consumer, back.href);
      const authorize = new URL(authorizeUrl(ep, temporary));
      for (const [k, v] of Object.entries(d.authorize_params)) authorize.searchParams.set(k, v);
      const authUri = authorize.href;
      return {
        authorizeUrl: authUri,
        val: {
          ...values,
          oauth_token: temporary.token,
          oauth_token_secret: temporary.tokenSecret,
          authUri,
          redirectUrl: authUri,
          ...(callbackUrl ? { callbackUrl, callback_url: callbackUrl } : {}),
        },
        secretKeys: ['oauth_token_secret'],
        redirectUri: back.href,
        usesVerifier: false,
      };
    },

    async complete({ cfg, val, query }) {
      const d = await details(cfg);
      const consumer = consumerOf(cfg, d);
      const temporary = { token: String(val.oauth_token ?? ''), tokenSecret: String(val.oauth_token_secret ?? '') };
      const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
      const verifier = callbackVerifier(params, temporary);
      const tokens = await exchangeVerifier(deps.http, endpoints(d, val), consumer, temporary, verifier);
      const kept = Object.fromEntries(Object.entries(val).filter(([k]) => !TEMPORARY.includes(k)));
      const next: Val = { ...kept, ...tokens, oauth_verifier: verifier, consumer_key: consumer.consumerKey };
      return { val: next, secretKeys: OAUTH1_SECRET_FIELDS, tokenExpiresAt: null, refreshFailures: 0, nextRefreshAt: null };
    },

    sign,
  };

  /** The `Authorization: OAuth …` header for one request as this account (token credentials). */
  async function sign(cfg: AuthConfigRow, val: Val, req: SignableRequest): Promise<string> {
    const consumer = consumerOf(cfg, await details(cfg));
    return authorizationHeader(req, consumer, { token: String(val.oauth_token ?? ''), tokenSecret: String(val.oauth_token_secret ?? '') });
  }

  return strategy;
}
export type OAuth1Strategy = ReturnType<typeof oauth1Strategy>;
