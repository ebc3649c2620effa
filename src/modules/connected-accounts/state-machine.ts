/**
 * The connected-account lifecycle, written down once. Every status change goes through
 * `transition()`, applied by account-store.ts with a compare-and-set on the status the writer
 * read, so two racing requests cannot both move the same account. The table lists exactly the
 * moves Latchkey makes, each with who makes it (the README draws it):
 *
 *   INITIALIZING ─► INITIATED   the Connect Link form starts OAuth (or POST /refresh)
 *   INITIALIZING ─► ACTIVE      the Connect Link form collected the credentials
 *   INITIALIZING ─► FAILED      the link expired unused (on a visit, or the background job)
 *   INITIATED    ─► ACTIVE      the OAuth callback exchanged the code
 *   INITIATED    ─► FAILED      callback: denied, no code, exchange failed, attempt expired;
 *                               or abandoned (read after the attempt's lifetime, or the job)
 *   INITIATED    ─► INITIATED   POST /refresh again: a newer consent replaces the pending one
 *   ACTIVE       ─► INACTIVE    PATCH /status {enabled:false}; and back with {enabled:true}
 *   ACTIVE       ─► EXPIRED     a refresh the provider refused for good (invalid_grant)
 *   ACTIVE       ─► REVOKED     POST /revoke, or DELETE ?revoke_on_delete=true
 *   ACTIVE, FAILED, EXPIRED, REVOKED ─► INITIATED   POST /refresh: re-authorisation, same id
 */
import { AppError } from '../../lib/errors.js';

export const STATUSES = ['INITIALIZING', 'INITIATED', 'ACTIVE', 'FAILED', 'EXPIRED', 'INACTIVE', 'REVOKED'] as const;
export type Status = (typeof STATUSES)[number];

const ALLOWED: Record<Status, readonly Status[]> = {
  INITIALIZING: ['INITIATED', 'ACTIVE', 'FAILED'],
  INITIATED: ['INITIATED', 'ACTIVE', 'FAILED'],
  ACTIVE: ['INACTIVE', 'EXPIRED', 'REVOKED', 'INITIATED'],
  INACTIVE: ['ACTIVE'],
  FAILED: ['INITIATED'],
  EXPIRED: ['INITIATED'],
  REVOKED: ['INITIATED'],
};

export function canTransition(from: Status, to: Status): boolean {
  return ALLOWED[from].includes(to);
}

/** Throws a deterministic 409 (x-should-retry: false) when the move is not allowed. */
export function transition(from: Status, to: Status): Status {
  if (!canTransition(from, to)) {
    throw AppError.final('ConnectedAccount_InvalidTransition', `A connected account in status ${from} cannot become ${to}`);
  }
  return to;
}

/** "60 seconds", "10 minutes", "1 hour": a lifetime as a reason states it. */
export function duration(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (ms < 1000) return plural(Math.max(0, Math.round(ms)), 'millisecond');
  const s = Math.round(ms / 1000);
  const [n, unit] = s % 3600 === 0 ? [s / 3600, 'hour'] : s % 60 === 0 && s >= 120 ? [s / 60, 'minute'] : [s, 'second'];
  return plural(n, unit);
}

/** A provider's error code, if it looks like one (never free text from the provider). */
const providerCode = (code: string) => (/^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : 'unrecognised error code');

/**
 * What happened, in the words Composio uses where it has them. Reasons that depend on a lifetime
 * state the real one (a link that lived 60 s says 60 seconds).
 */
export const STATUS_REASONS = {
  initiationTimeout: (lifetimeMs: number) => `Connection initiation did not complete within ${duration(lifetimeMs)}`,
  // Composio's exact wording (apps match on it); the provider's error code is in `state.val.error`.
  permanentRefreshError: 'Permanent auth error during token refresh',
  tokenExchangeFailed: 'OAuth callback failed during token exchange',
  callbackWithoutCode: 'OAuth callback carried no authorization code',
  authConfigDeleted: 'Auth config was deleted before the OAuth callback completed',
  providerDenied: (code: string) => `Authorization failed at the provider: ${providerCode(code)}`,
  /** A minted-token account (S2S_OAUTH2, service accounts) whose first token request was refused. */
  tokenRequestRefused: (code: string) => `Token request refused by the provider: ${providerCode(code)}`,
  /** OAUTH1 (no refresh): the provider answered 401 to a signed request, so the token was revoked there. */
  tokenRejectedByProvider: 'The provider rejected the access token (401): it was revoked or has expired',
  userUpdated: 'Connection status updated by user',
  authConfigDisabled: 'Auth config is disabled',
  userRevoked: 'Revoked via user-initiated revoke endpoint',
  revokedOnDelete: 'Revoked as part of connection delete',
} as const;
