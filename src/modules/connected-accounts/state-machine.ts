/**
 * The connected-account lifecycle, written down once. Every status change goes through
 * `transition()`, and repositories apply it with a compare-and-set on the old status, so two racing
 * requests cannot both move the same account.
 *
 *   INITIALIZING ──► INITIATED ──► ACTIVE ◄──► INACTIVE        (enable / disable)
 *        │               │           │  ▲
 *        └──────► FAILED ◄┘           │  └── re-authorisation (INITIATED → ACTIVE) keeps the id
 *                                    ├──► EXPIRED  (permanent refresh failure)
 *                                    └──► REVOKED  (revoked upstream)
 */
import { AppError } from '../../lib/errors.js';

export const STATUSES = ['INITIALIZING', 'INITIATED', 'ACTIVE', 'FAILED', 'EXPIRED', 'INACTIVE', 'REVOKED'] as const;
export type Status = (typeof STATUSES)[number];

const ALLOWED: Record<Status, readonly Status[]> = {
  INITIALIZING: ['INITIATED', 'ACTIVE', 'FAILED'],
  INITIATED: ['INITIATED', 'ACTIVE', 'FAILED'],
  ACTIVE: ['ACTIVE', 'INACTIVE', 'EXPIRED', 'FAILED', 'REVOKED', 'INITIATED'],
  INACTIVE: ['INACTIVE', 'ACTIVE', 'REVOKED'],
  FAILED: ['INITIATED'],
  EXPIRED: ['INITIATED', 'ACTIVE'],
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

export const STATUS_REASONS = {
  initiationTimeout: 'Connection initiation did not complete within 10 minutes',
  permanentRefreshError: 'Permanent auth error during token refresh',
  tokenExchangeFailed: 'OAuth callback failed during token exchange',
  userUpdated: 'Connection status updated by user',
  authConfigDisabled: 'Auth config is disabled',
  userRevoked: 'Revoked via user-initiated revoke endpoint',
  revokedOnDelete: 'Revoked as part of connection delete',
} as const;
