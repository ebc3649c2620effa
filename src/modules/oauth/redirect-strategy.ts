/**
 * Redirect schemes other than OAuth2's authorization code with fixed endpoints (OAUTH1, DCR_OAUTH,
 * CIMD_OAUTH) plug into the oauth service through this one shape. The service keeps everything the
 * schemes share: the single-use `state` (an HMAC in `oauth_attempts`), the sealed PKCE verifier,
 * the account writes through the connected-accounts store, the callback's checks and outcomes,
 * verified callbacks, and the refresh lease. A strategy only speaks its protocol.
 *
 * Strategies call providers through the egress guard (`guardedHttp`) and throw the oauth module's
 * classified ProviderError; `startFailure` turns one into the API's answer at connect time.
 */
import { AppError } from '../../lib/errors.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import type { Change } from '../connected-accounts/account-store.js';
import type { AccountRow } from '../connected-accounts/connected-accounts.repository.js';
import { EgressRefusedError } from '../egress/egress.js';
import type { Fetch, HttpOptions } from '../auth-modes/http.js';
import { ProviderError } from './oauth-client.js';

type Val = Record<string, unknown>;

export type StrategyStart = {
  /** Where the user's browser goes. */
  authorizeUrl: string;
  /** The account's fields while INITIATED (contract §2.3 for the scheme), user values included. */
  val: Val;
  /** Which of them are secret (masked for masked keys). */
  secretKeys: string[];
  /** The redirect URI the provider returns to (kept on the attempt). */
  redirectUri: string;
  /** Whether the PKCE verifier the service made was used (kept sealed on the attempt). */
  usesVerifier: boolean;
};

export type RedirectStrategy = {
  /** A new consent. `state` and `codeVerifier` are the service's; the strategy puts them on the request. */
  start(a: { projectId: string; accountId: string; cfg: AuthConfigRow; values: Val; state: string; codeVerifier: string; callbackUrl?: string }): Promise<StrategyStart>;
  /** The callback: the provider's answer into the account's ACTIVE fields. Throws ProviderError. */
  complete(a: { row: AccountRow; cfg: AuthConfigRow; val: Val; query: Record<string, string | undefined>; redirectUri: string; state: string; codeVerifier?: string }): Promise<Change>;
  /** Where the user will be sent, before any consent (the Connect Link page names its origin). Throws ProviderError. */
  authorizationEndpoint?(cfg: AuthConfigRow): Promise<string>;
  /** New tokens for an ACTIVE account (schemes with refresh tokens). Throws ProviderError. */
  refresh?(a: { row: AccountRow; cfg: AuthConfigRow; val: Val; refreshToken: string }): Promise<Change>;
};

/** The auth modes' HTTP options over the egress guard: its refusal is a classified provider error. */
export function guardedHttp(fetch: Fetch, opts: { timeoutMs: number; allowInsecureLoopback: boolean }): HttpOptions {
  return {
    timeoutMs: opts.timeoutMs,
    allowInsecureLoopback: opts.allowInsecureLoopback,
    fetch: async (url, init) => {
      try {
        return await fetch(url, init);
      } catch (err) {
        if (err instanceof EgressRefusedError || (err as { cause?: unknown })?.cause instanceof EgressRefusedError) {
          // Says nothing about the credentials (an operator may yet allow the address), hence transient.
          throw new ProviderError('transient', 'egress_refused', "The provider's endpoint resolves to an address this server does not call (loopback, private or internal)");
        }
        throw err;
      }
    },
  };
}

/** A provider's refusal or failure while starting a connection, as the API answers it (nothing is written). */
export function startFailure(err: unknown, what: string): never {
  if (!(err instanceof ProviderError)) throw err;
  const code = /^[A-Za-z0-9_.-]{1,64}$/.test(err.error) ? err.error : 'provider_error';
  const detail = err.description ? `: ${err.description.slice(0, 200)}` : '';
  if (err.kind === 'transient') {
    throw new AppError('ConnectedAccount_ProviderError', `${what} failed (${code})${detail}; nothing was created`, { suggestedFix: 'Retry later' });
  }
  throw new AppError('ConnectedAccount_InvalidRequest', `${what} was refused (${code})${detail}; nothing was created`, {
    suggestedFix: 'Check the auth config (credentials, URL) and the provider; see docs/mcp.md and docs/oauth.md',
  });
}

/** Space- or comma-separated scopes, or a list. */
export const splitScopes = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' && v.trim() ? v.split(/[\s,]+/).filter(Boolean) : undefined;
