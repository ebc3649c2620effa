/**
 * Reads of connected accounts. Every query is scoped to the project; deleted accounts are invisible.
 * Writes (and sealing) belong to account-store.ts.
 */
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';
import { usableByWhere } from './shared-access.js';

const withConfig = { authConfig: { select: { isComposioManaged: true, status: true, deletedAt: true } } } as const;
export type AccountRow = Prisma.ConnectedAccountGetPayload<{ include: typeof withConfig }>;

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
const FIND_SQL = `
  SELECT a.id, a.project_id, a.auth_config_id, a.toolkit_slug, a.user_id, a.auth_scheme, a.status,
         a.status_reason, a.state, a.secret_keys, a.alias, a.word_id, a.callback_url, a.account_type,
         a.labels, a.acl_allow_all_users, a.acl_allowed_user_ids, a.acl_not_allowed_user_ids,
         a.token_expires_at, a.refresh_lease_until, a.refresh_failures, a.next_refresh_at, a.activated_at,
         a.created_at, a.updated_at, c.is_composio_managed, c.status AS config_status
    FROM connected_accounts a JOIN auth_configs c ON c.id = a.auth_config_id
   WHERE a.id = $1 AND a.project_id = $2 AND a.deleted_at IS NULL`;

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

export function connectedAccountsRepository(db: Db, pool: pg.Pool) {
  return {
    async find(projectId: string, id: string): Promise<AccountRow | null> {
      const { rows } = await pool.query<FindRow>({ name: 'connected_account_find', text: FIND_SQL, values: [id, projectId] });
      const r = rows[0];
      if (!r) return null;
      return {
        id: r.id,
        projectId: r.project_id,
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
        callbackUrl: r.callback_url,
        accountType: r.account_type,
        labels: r.labels,
        aclAllowAllUsers: r.acl_allow_all_users,
        aclAllowedUserIds: r.acl_allowed_user_ids,
        aclNotAllowedUserIds: r.acl_not_allowed_user_ids,
        tokenExpiresAt: r.token_expires_at,
        refreshLeaseUntil: r.refresh_lease_until,
        refreshFailures: r.refresh_failures,
        nextRefreshAt: r.next_refresh_at,
        activatedAt: r.activated_at,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        deletedAt: null,
        authConfig: { isComposioManaged: r.is_composio_managed, status: r.config_status, deletedAt: null },
      };
    },
    async list(projectId: string, f: ListFilters, order: Order, page: { after?: { at: Date; id: string }; limit: number }) {
      const where: Prisma.ConnectedAccountWhereInput = {
        projectId,
        deletedAt: null,
        ...(f.userIds?.length ? (f.accountType === 'PRIVATE' ? { userId: { in: f.userIds } } : usableByWhere(f.userIds)) : {}),
        ...(f.toolkitSlugs?.length ? { toolkitSlug: { in: f.toolkitSlugs } } : {}),
        ...(f.authConfigIds?.length ? { authConfigId: { in: f.authConfigIds } } : {}),
        ...(f.ids?.length ? { id: { in: f.ids } } : {}),
        ...(f.statuses?.length ? { status: { in: f.statuses } } : {}),
        ...(f.accountType === 'ALL' ? {} : { accountType: f.accountType }),
        // `labels && $1`: the GIN index on labels answers it.
        ...(f.labels?.length ? { labels: { hasSome: f.labels } } : {}),
      };
      const cmp = order.dir === 'desc' ? 'lt' : 'gt';
      const bound = order.dir === 'desc' ? 'lte' : 'gte';
      // (t, id) past the cursor. The first term is redundant logically but bounds the index range
      // scan, so a deep page reads what the first one does.
      const keyset: Prisma.ConnectedAccountWhereInput = page.after
        ? {
            [order.by]: { [bound]: page.after.at },
            OR: [{ [order.by]: { [cmp]: page.after.at } }, { [order.by]: page.after.at, id: { [cmp]: page.after.id } }],
          }
        : {};
      const rows = await db.connectedAccount.findMany({
        where: { AND: [where, keyset] },
        include: withConfig,
        orderBy: [{ [order.by]: order.dir }, { id: order.dir }],
        take: page.limit + 1,
      });
      return { rows, count: () => db.connectedAccount.count({ where }) };
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
