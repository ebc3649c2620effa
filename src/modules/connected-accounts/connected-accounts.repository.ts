/**
 * Reads of connected accounts. Every query is scoped to the project; deleted accounts are invisible.
 * Writes (and sealing) belong to account-store.ts.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';
import { hotRowTypes } from '../../db/row-types.js';
import { usableBySql } from './shared-access.js';

/** An account with the flags of its auth config that its responses show. */
export type AccountRow = Prisma.ConnectedAccountGetPayload<{
  include: { authConfig: { select: { isComposioManaged: true; status: true; deletedAt: true } } };
}>;

/**
 * What a list page shows of an account: not the refresh bookkeeping (expiry, lease, failures, next
 * refresh), the activation time or the callback URL, which a page never reads (it does not refresh).
 */
export type ListedAccount = Pick<
  AccountRow,
  | 'id'
  | 'projectId'
  | 'authConfigId'
  | 'toolkitSlug'
  | 'userId'
  | 'authScheme'
  | 'status'
  | 'statusReason'
  | 'state'
  | 'secretKeys'
  | 'alias'
  | 'wordId'
  | 'accountType'
  | 'labels'
  | 'aclAllowAllUsers'
  | 'aclAllowedUserIds'
  | 'aclNotAllowedUserIds'
  | 'createdAt'
  | 'updatedAt'
  | 'authConfig'
>;

export type ListFilters = {
  /** Accounts these users may use: their own, and (unless only PRIVATE ones are asked for) SHARED ones their ACL allows. */
  userIds?: string[];
  toolkitSlugs?: string[];
  authConfigIds?: string[];
  ids?: string[];
  statuses?: string[];
  accountType: 'PRIVATE' | 'SHARED' | 'ALL';
  /** Accounts carrying any of these labels. */
  labels?: string[];
};
export type Order = { by: 'createdAt' | 'updatedAt'; dir: 'asc' | 'desc' };

/**
 * The hottest read (GET by id, and every SDK poll) as one joined, prepared statement on the pg pool:
 * Prisma would send two queries for the include.
 */
const SELECT_ACCOUNT = `
  SELECT a.id, a.project_id, a.auth_config_id, a.toolkit_slug, a.user_id, a.auth_scheme, a.status,
         a.status_reason, a.state, a.secret_keys, a.alias, a.word_id, a.callback_url, a.account_type,
         a.labels, a.acl_allow_all_users, a.acl_allowed_user_ids, a.acl_not_allowed_user_ids,
         a.token_expires_at, a.refresh_lease_until, a.refresh_failures, a.next_refresh_at, a.activated_at,
         a.created_at, a.updated_at, c.is_composio_managed, c.status AS config_status
    FROM connected_accounts a JOIN auth_configs c ON c.id = a.auth_config_id`;
const FIND_SQL = `${SELECT_ACCOUNT} WHERE a.id = $1 AND a.project_id = $2 AND a.deleted_at IS NULL`;
/**
 * A list page's columns (ListedAccount): 20 a row instead of 27. The driver's per-column work
 * (decoding text, parsing timestamps and arrays) was about a third of a page's CPU, and four of the
 * seven columns left out are timestamps it would parse for nothing.
 */
const SELECT_LISTED = `
  SELECT a.id, a.auth_config_id, a.toolkit_slug, a.user_id, a.auth_scheme, a.status, a.status_reason,
         a.state, a.secret_keys, a.alias, a.word_id, a.account_type, a.labels, a.acl_allow_all_users,
         a.acl_allowed_user_ids, a.acl_not_allowed_user_ids, a.created_at, a.updated_at,
         c.is_composio_managed, c.status AS config_status
    FROM connected_accounts a JOIN auth_configs c ON c.id = a.auth_config_id`;

type FindRow = {
  id: string;
  project_id: string;
  auth_config_id: string;
  toolkit_slug: string;
  user_id: string;
  auth_scheme: string;
  status: string;
  status_reason: string | null;
  state: string;
  secret_keys: string[];
  alias: string | null;
  word_id: string;
  callback_url: string | null;
  account_type: string;
  labels: string[];
  acl_allow_all_users: boolean;
  acl_allowed_user_ids: string[];
  acl_not_allowed_user_ids: string[];
  token_expires_at: Date | null;
  refresh_lease_until: Date | null;
  refresh_failures: number;
  next_refresh_at: Date | null;
  activated_at: Date | null;
  created_at: Date;
  updated_at: Date;
  is_composio_managed: boolean;
  config_status: string;
};

type ListedRow = Omit<FindRow, 'project_id' | 'callback_url' | 'token_expires_at' | 'refresh_lease_until' | 'refresh_failures' | 'next_refresh_at' | 'activated_at'>;

function fromListedRow(projectId: string, r: ListedRow): ListedAccount {
  return {
    id: r.id,
    projectId,
    authConfigId: r.auth_config_id,
    toolkitSlug: r.toolkit_slug,
    userId: r.user_id,
    authScheme: r.auth_scheme,
    status: r.status,
    statusReason: r.status_reason,
    state: r.state,
    secretKeys: r.secret_keys,
    alias: r.alias,
    wordId: r.word_id,
    accountType: r.account_type,
    labels: r.labels,
    aclAllowAllUsers: r.acl_allow_all_users,
    aclAllowedUserIds: r.acl_allowed_user_ids,
    aclNotAllowedUserIds: r.acl_not_allowed_user_ids,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    authConfig: { isComposioManaged: r.is_composio_managed, status: r.config_status, deletedAt: null },
  };
}

function fromRow(r: FindRow): AccountRow {
  return {
    ...fromListedRow(r.project_id, r),
    callbackUrl: r.callback_url,
    tokenExpiresAt: r.token_expires_at,
    refreshLeaseUntil: r.refresh_lease_until,
    refreshFailures: r.refresh_failures,
    nextRefreshAt: r.next_refresh_at,
    activatedAt: r.activated_at,
    deletedAt: null,
  };
}

/** The filters as SQL over `connected_accounts a`, with their values ($1 is the project). */
function listWhere(projectId: string, f: ListFilters): { where: string; values: unknown[] } {
  const values: unknown[] = [projectId];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const terms = ['a.project_id = $1', 'a.deleted_at IS NULL'];
  if (f.userIds?.length) terms.push(f.accountType === 'PRIVATE' ? `a.user_id = ANY(${param(f.userIds)}::text[])` : usableBySql('a', param(f.userIds)));
  if (f.toolkitSlugs?.length) terms.push(`a.toolkit_slug = ANY(${param(f.toolkitSlugs)}::text[])`);
  if (f.authConfigIds?.length) terms.push(`a.auth_config_id = ANY(${param(f.authConfigIds)}::text[])`);
  if (f.ids?.length) terms.push(`a.id = ANY(${param(f.ids)}::text[])`);
  if (f.statuses?.length) terms.push(`a.status = ANY(${param(f.statuses)}::text[])`);
  if (f.accountType !== 'ALL') terms.push(`a.account_type = ${param(f.accountType)}`);
  // `labels && $n`: the GIN index on labels answers it.
  if (f.labels?.length) terms.push(`a.labels && ${param(f.labels)}::text[]`);
  return { where: terms.join(' AND '), values };
}

/** Prepared statements are named after their text: one per filter combination, parsed once per connection. */
const names = new Map<string, string>();
function statementName(kind: string, text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `${kind}_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

export function connectedAccountsRepository(db: Db, pool: pg.Pool) {
  return {
    async find(projectId: string, id: string): Promise<AccountRow | null> {
      const { rows } = await pool.query<FindRow>({ name: 'connected_account_find', text: FIND_SQL, values: [id, projectId], types: hotRowTypes });
      const r = rows[0];
      return r ? fromRow(r) : null;
    },
    /**
     * One page, as one prepared statement (the account and its auth config's flags joined, as in
     * `find`): Prisma would send two queries and spend more CPU per row than the rest of the page.
     */
    async list(projectId: string, f: ListFilters, order: Order, page: { after?: { at: Date; id: string }; limit: number }): Promise<ListedAccount[]> {
      const { where, values } = listWhere(projectId, f);
      const col = order.by === 'createdAt' ? 'a.created_at' : 'a.updated_at';
      const dir = order.dir === 'desc' ? 'DESC' : 'ASC';
      let keyset = '';
      if (page.after) {
        const cmp = order.dir === 'desc' ? '<' : '>';
        values.push(page.after.at, page.after.id);
        const at = `$${values.length - 1}`;
        const id = `$${values.length}`;
        // (t, id) past the cursor. The first term is redundant logically but bounds the index range
        // scan, so a deep page reads what the first one does.
        keyset = ` AND ${col} ${cmp}= ${at} AND (${col} ${cmp} ${at} OR (${col} = ${at} AND a.id ${cmp} ${id}))`;
      }
      values.push(page.limit + 1);
      const text = `${SELECT_LISTED} WHERE ${where}${keyset} ORDER BY ${col} ${dir}, a.id ${dir} LIMIT $${values.length}`;
      const { rows } = await pool.query<ListedRow>({ name: statementName('ca_list', text), text, values, types: hotRowTypes });
      return rows.map((r) => fromListedRow(projectId, r));
    },
    /**
     * How many accounts match, counting at most `bound + 1` of them: `exact` when there are no more
     * than `bound`; otherwise the planner's estimate from the table's statistics (at least bound + 1).
     * Either costs at most `bound` index entries, whatever the project's size.
     */
    async countUpTo(projectId: string, f: ListFilters, bound: number): Promise<{ n: number; exact: boolean }> {
      const { where, values } = listWhere(projectId, f);
      const matching = `SELECT 1 FROM connected_accounts a WHERE ${where}`;
      const text = `SELECT count(*)::int AS n FROM (${matching} LIMIT ${bound + 1}) m`;
      const { rows } = await pool.query<{ n: number }>({ name: statementName('ca_count', text), text, values });
      const n = rows[0]!.n;
      if (n <= bound) return { n, exact: true };
      const plan = await pool.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(`EXPLAIN (FORMAT JSON) ${matching}`, values);
      return { n: Math.max(bound + 1, Math.round(plan.rows[0]!['QUERY PLAN'][0].Plan['Plan Rows'])), exact: false };
    },
    /** Active accounts with this alias for the same user and toolkit. */
    aliasTaken(projectId: string, userId: string, toolkitSlug: string, alias: string, exceptId?: string) {
      return db.connectedAccount.findFirst({
        where: { projectId, userId, toolkitSlug, alias, deletedAt: null, ...(exceptId ? { id: { not: exceptId } } : {}) },
        select: { id: true },
      });
    },
  };
}
export type ConnectedAccountsRepository = ReturnType<typeof connectedAccountsRepository>;
