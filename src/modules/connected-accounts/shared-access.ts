/**
 * Who may use a connected account (Composio's experimental ACL for SHARED connections).
 * - A PRIVATE account is its owner's (`user_id`) alone.
 * - A SHARED account is its owner's, and any other user id its ACL allows. Deny wins:
 *   1. the user id is in `not_allowed_user_ids` → no;
 *   2. `allow_all_users` → yes;
 *   3. the user id is in `allowed_user_ids` → yes;
 *   4. otherwise no (deny by default: a SHARED account without an ACL is its owner's only).
 * One rule, used wherever an account is resolved for a user: `mayUse` for one account (auth params,
 * and the proxy), `usableBySql` for lists filtered by `user_ids` (the same rule as a query).
 * The owner is never denied: the ACL is about others.
 */
import { AppError } from '../../lib/errors.js';

export type Acl = { allowAllUsers: boolean; allowedUserIds: string[]; notAllowedUserIds: string[] };
/** The wire's block (create, link, PATCH: each field optional; responses: all three). */
export type AclWire = { allow_all_users?: boolean; allowed_user_ids?: string[]; not_allowed_user_ids?: string[] };

export const NO_ACL: Acl = { allowAllUsers: false, allowedUserIds: [], notAllowedUserIds: [] };

type AccessFacts = { userId: string; accountType: string; aclAllowAllUsers: boolean; aclAllowedUserIds: string[]; aclNotAllowedUserIds: string[] };

const unique = (ids: string[]) => [...new Set(ids)];

/** PATCH semantics: an omitted field keeps its value; a list given replaces the stored one ([] clears it). */
export function applyAcl(current: Acl, patch: AclWire): Acl {
  return {
    allowAllUsers: patch.allow_all_users ?? current.allowAllUsers,
    allowedUserIds: patch.allowed_user_ids ? unique(patch.allowed_user_ids) : current.allowedUserIds,
    notAllowedUserIds: patch.not_allowed_user_ids ? unique(patch.not_allowed_user_ids) : current.notAllowedUserIds,
  };
}

export const aclOf = (row: Pick<AccessFacts, 'aclAllowAllUsers' | 'aclAllowedUserIds' | 'aclNotAllowedUserIds'>): Acl => ({
  allowAllUsers: row.aclAllowAllUsers,
  allowedUserIds: row.aclAllowedUserIds,
  notAllowedUserIds: row.aclNotAllowedUserIds,
});

export const aclWire = (acl: Acl) => ({
  allow_all_users: acl.allowAllUsers,
  allowed_user_ids: acl.allowedUserIds,
  not_allowed_user_ids: acl.notAllowedUserIds,
});

/** Whether `userId` may use the account. */
export function mayUse(row: AccessFacts, userId: string): boolean {
  if (row.userId === userId) return true;
  if (row.accountType !== 'SHARED') return false;
  if (row.aclNotAllowedUserIds.includes(userId)) return false;
  return row.aclAllowAllUsers || row.aclAllowedUserIds.includes(userId);
}

/**
 * `mayUse` as SQL over the account alias `a`, for the users in the text[] parameter `users`: accounts
 * any of them may use (owned by one, or SHARED and allowed to one). The list and its count use it.
 */
export function usableBySql(a: string, users: string): string {
  return (
    `(${a}.user_id = ANY(${users}::text[]) OR (${a}.account_type = 'SHARED' AND EXISTS (` +
    `SELECT 1 FROM unnest(${users}::text[]) AS u(id) WHERE NOT (u.id = ANY(${a}.acl_not_allowed_user_ids))` +
    ` AND (${a}.acl_allow_all_users OR u.id = ANY(${a}.acl_allowed_user_ids)))))`
  );
}

/** The rule's words, as Composio's SDK recognises them (it raises ComposioAclOnlyForSharedError on them). */
export const ACL_ONLY_FOR_SHARED = 'acl_config_for_shared is only valid on SHARED connected accounts';

/**
 * The ACL of a new account (create, link): deny-by-default when none is given; a 400 when one is
 * given for an account that is not SHARED.
 */
export function newAccountAcl(accountType: string, given: AclWire | undefined): Acl | undefined {
  if (given && accountType !== 'SHARED') throw new AppError('ConnectedAccount_InvalidRequest', ACL_ONLY_FOR_SHARED);
  return accountType === 'SHARED' ? applyAcl(NO_ACL, given ?? {}) : undefined;
}
