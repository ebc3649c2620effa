/**
 * Verified callbacks (`POST /connected_accounts/complete_auth`, contract §3.10): when a project
 * turns verification on, the OAuth callback does not activate the account at once; it sends the
 * browser to the project's verifier with a single-use `session_uri`, and the project's server
 * redeems it with the user id it believes is signed in. Only then is the connection confirmed.
 *
 * The pure rules: a session_uri is 32 random bytes (base64url) under a fixed prefix; only its
 * HMAC is stored (a database leak yields nothing to redeem); it dies 10 minutes after issue and on
 * first use; it is bound to project, account and user. Unknown, expired, used or another project's
 * → 404 (indistinguishable); the right session for another user → 400, as the contract says.
 * The store claims a session with a compare-and-set on `used_at IS NULL`, so of two concurrent
 * redemptions exactly one wins.
 */
import { randomBytes } from 'node:crypto';
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';

export const CALLBACK_SESSION_TTL_MS = 10 * 60_000;
/** A URI (as the field's name promises) that no one would try to open: it is a bearer capability. */
const PREFIX = 'urn:latchkey:callback-session:';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type CallbackSessionBinding = { projectId: string; accountId: string; userId: string };

/** The row the store keeps: never the session_uri itself. */
export type StoredCallbackSession = CallbackSessionBinding & { hash: Buffer; expiresAt: Date; usedAt: Date | null };

type Hmac = Pick<Crypto, 'hmac' | 'equal'>;

export function issueCallbackSession(crypto: Hmac, binding: CallbackSessionBinding, now: Date = new Date()) {
  const sessionUri = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const stored: StoredCallbackSession = { ...binding, hash: crypto.hmac(sessionUri), expiresAt: new Date(now.getTime() + CALLBACK_SESSION_TTL_MS), usedAt: null };
  return { sessionUri, stored };
}

/** The lookup key for a presented session_uri, or undefined when it cannot be one of ours. */
export function callbackSessionHash(crypto: Hmac, sessionUri: string): Buffer | undefined {
  if (!sessionUri.startsWith(PREFIX) || !TOKEN.test(sessionUri.slice(PREFIX.length))) return undefined;
  return crypto.hmac(sessionUri);
}

const notFound = () =>
  AppError.final('ConnectedAccount_ResourceNotFound', 'Session not found, expired or already used', {
    suggestedFix: 'Start the connection again; a session_uri is valid once, for 10 minutes',
  });

/**
 * Checks a presented session against the stored row found by its hash (undefined when none).
 * Returns the account to confirm; the caller then claims the row (used_at) with a compare-and-set.
 */
export function checkCallbackSession(crypto: Hmac, found: StoredCallbackSession | undefined, presented: { projectId: string; sessionUri: string; userId: string }, now: Date = new Date()): { accountId: string } {
  const hash = callbackSessionHash(crypto, presented.sessionUri);
  if (!hash || !found || !crypto.equal(hash, found.hash) || found.projectId !== presented.projectId) throw notFound();
  if (found.usedAt || now.getTime() >= found.expiresAt.getTime()) throw notFound();
  if (found.userId !== presented.userId) {
    throw AppError.final('ConnectedAccount_InvalidRequest', 'user_id does not match the user who started this connection', {
      suggestedFix: 'Pass the user_id the connection was created for',
    });
  }
  return { accountId: found.accountId };
}
