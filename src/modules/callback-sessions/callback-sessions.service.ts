/**
 * Verified callbacks (contract §3.10). A project that sets a verifier URL does not let an OAuth
 * callback (OAUTH2, OAUTH1, DCR_OAUTH, CIMD_OAUTH) activate the account by itself: the grant is
 * parked here, sealed, and the browser goes to the verifier with a single-use `session_uri`
 * (auth-modes/callback-sessions.ts: random, HMAC at rest, 10 minutes, bound to project, account
 * and user). The app's server, which knows who is signed in, redeems it with
 * `POST /connected_accounts/complete_auth {session_uri, user_id}`; only then is the account ACTIVE.
 *
 * - Parking keeps the account INITIATED (a same-status move that restarts its lifetime, so an
 *   abandoned session fails the account like any abandoned redirect) and writes the session in
 *   the same transaction.
 * - Redeeming: unknown, expired, used or another project's session → 404; the wrong user → 400 and
 *   the session stays usable; the claim is a compare-and-set on `used_at`, so of two concurrent
 *   redemptions exactly one activates.
 */
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { sealedValues } from '../../lib/sealed.js';
import { callbackSessionHash, checkCallbackSession, issueCallbackSession } from '../auth-modes/callback-sessions.js';
import type { AccountStore, Change } from '../connected-accounts/account-store.js';
import type { AccountRow } from '../connected-accounts/connected-accounts.repository.js';
import { CallbackError } from '../oauth/oauth.service.js';
import type { Caller } from '../projects/projects.service.js';
import type { AuthScheme } from '../toolkits/toolkit-definition.js';
import type { CallbackSessionsRepository } from './callback-sessions.repository.js';
import type { CompleteAuthBody } from './callback-sessions.schemas.js';

export const AWAITING_VERIFICATION = 'Waiting for the app to confirm the user (complete_auth)';

type Grant = { val: Record<string, unknown>; secretKeys: string[]; tokenExpiresAt: string | null };

export function callbackSessionsService(deps: {
  repo: CallbackSessionsRepository;
  store: Pick<AccountStore, 'move'>;
  findAccount: (projectId: string, id: string) => Promise<AccountRow | null>;
  verifierUrl: (projectId: string) => Promise<string | null>;
  crypto: Pick<Crypto, 'hmac' | 'equal' | 'seal' | 'open'>;
}) {
  const { repo, crypto } = deps;
  const sealed = sealedValues(crypto);

  return {
    /** Parks a completed callback when the project verifies; answers the verifier URL for the browser. */
    async park(row: AccountRow, write: Change): Promise<string | undefined> {
      const verifier = await deps.verifierUrl(row.projectId);
      if (!verifier) return undefined;
      const { sessionUri, stored } = issueCallbackSession(crypto, { projectId: row.projectId, accountId: row.id, userId: row.userId });
      const id = newId('callbackSession');
      const grant: Grant = { val: write.val ?? {}, secretKeys: write.secretKeys ?? [], tokenExpiresAt: write.tokenExpiresAt?.toISOString() ?? null };
      const parked = await deps.store.move(row, 'INITIATED', { reason: AWAITING_VERIFICATION }, (tx) =>
        repo.create(
          {
            id,
            projectId: row.projectId,
            accountId: row.id,
            userId: row.userId,
            hash: new Uint8Array(stored.hash),
            grant: sealed.sealJson('callbackSessionGrant', row.projectId, id, grant),
            expiresAt: stored.expiresAt,
          },
          tx,
        ),
      );
      if (!parked) throw new CallbackError('This connection changed while it was being completed.');
      const url = new URL(verifier);
      url.searchParams.set('session_uri', sessionUri);
      url.searchParams.set('connected_account_id', row.id);
      return url.href;
    },

    async completeAuth(caller: Caller, body: CompleteAuthBody) {
      const hash = callbackSessionHash(crypto, body.session_uri);
      const found = hash ? await repo.findByHash(hash) : null;
      const { accountId } = checkCallbackSession(crypto, found ? { ...found, hash: Buffer.from(found.hash) } : undefined, {
        projectId: caller.projectId,
        sessionUri: body.session_uri,
        userId: body.user_id,
      });
      if (!found || !(await repo.claim(found.id))) {
        throw AppError.final('ConnectedAccount_ResourceNotFound', 'Session not found, expired or already used');
      }
      const row = await deps.findAccount(caller.projectId, accountId);
      // Still parked: a re-authorisation since (a newer consent) clears the reason, and this grant is stale.
      if (!row || row.status !== 'INITIATED' || row.statusReason !== AWAITING_VERIFICATION) {
        throw AppError.final('ConnectedAccount_Conflict', `The connection is no longer waiting for this confirmation${row ? ` (it is ${row.status})` : ''}`, {
          suggestedFix: 'Start the connection again',
        });
      }
      const grant = sealed.openJson<Grant>('callbackSessionGrant', found.projectId, found.id, found.grant);
      const change: Change = {
        val: grant.val,
        secretKeys: grant.secretKeys,
        tokenExpiresAt: grant.tokenExpiresAt ? new Date(grant.tokenExpiresAt) : null,
        refreshFailures: 0,
        nextRefreshAt: null,
      };
      if (!(await deps.store.move(row, 'ACTIVE', change))) {
        throw AppError.final('ConnectedAccount_Conflict', 'The connection changed while it was being confirmed; start it again');
      }
      return {
        connected_account_id: row.id,
        toolkit_slug: row.toolkitSlug,
        connected_account: {
          id: row.id,
          user_id: row.userId,
          status: 'ACTIVE' as const,
          toolkit: { slug: row.toolkitSlug },
          auth_config: { id: row.authConfigId, auth_scheme: row.authScheme as AuthScheme, is_composio_managed: row.authConfig.isComposioManaged },
        },
      };
    },

    prune: () => repo.pruneExpired(),
  };
}
export type CallbackSessionsService = ReturnType<typeof callbackSessionsService>;
