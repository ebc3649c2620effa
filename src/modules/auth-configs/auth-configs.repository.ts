/** Prisma access for auth configs. Every query is scoped to the project, and deleted rows are invisible. */
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';
import { type Alongside, writeWith } from '../../db/transaction.js';

export type AuthConfigRow = Awaited<ReturnType<Db['authConfig']['findFirstOrThrow']>>;

/** Every connection create reads its auth config: one prepared statement on the pg pool. */
const FIND_SQL = `
  SELECT id, project_id, toolkit_slug, name, auth_scheme, is_composio_managed, status, credentials, secret_keys,
         proxy_config, tool_access_config, is_enabled_for_tool_router, created_at, updated_at
    FROM auth_configs WHERE id = $1 AND project_id = $2 AND deleted_at IS NULL`;

type DbRow = {
  id: string;
  project_id: string;
  toolkit_slug: string;
  name: string;
  auth_scheme: string;
  is_composio_managed: boolean;
  status: string;
  credentials: string | null;
  secret_keys: string[];
  proxy_config: AuthConfigRow['proxyConfig'];
  tool_access_config: AuthConfigRow['toolAccessConfig'];
  is_enabled_for_tool_router: boolean;
  created_at: Date;
  updated_at: Date;
};

export function authConfigsRepository(db: Db, pool: pg.Pool) {
  return {
    /** Every change below carries its audit record (`alongside`), written in its transaction. */
    create(data: Prisma.AuthConfigUncheckedCreateInput, alongside: Alongside) {
      return writeWith(db, (tx) => tx.authConfig.create({ data }), () => true, alongside);
    },
    /**
     * The one read not scoped to a project: the public client ID metadata document route
     * (GET /oauth/client-metadata/{id}.json) finds a live CIMD_OAUTH config by its id alone. It
     * answers nothing secret, and only for that scheme.
     */
    findCimdConfig(id: string) {
      return db.authConfig.findFirst({ where: { id, authScheme: 'CIMD_OAUTH', deletedAt: null }, select: { id: true, projectId: true, toolkitSlug: true } });
    },
    async find(projectId: string, id: string): Promise<AuthConfigRow | null> {
      const { rows } = await pool.query<DbRow>({ name: 'auth_config_find', text: FIND_SQL, values: [id, projectId] });
      const r = rows[0];
      if (!r) return null;
      return {
        id: r.id,
        projectId: r.project_id,
        toolkitSlug: r.toolkit_slug,
        name: r.name,
        authScheme: r.auth_scheme,
        isComposioManaged: r.is_composio_managed,
        status: r.status,
        credentials: r.credentials,
        secretKeys: r.secret_keys,
        proxyConfig: r.proxy_config,
        toolAccessConfig: r.tool_access_config,
        isEnabledForToolRouter: r.is_enabled_for_tool_router,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        deletedAt: null,
      };
    },
    async list(
      projectId: string,
      f: { toolkitSlugs?: string[]; managed?: boolean; showDisabled: boolean; search?: string },
      page: { after?: { createdAt: Date; id: string }; limit: number },
    ) {
      const where: Prisma.AuthConfigWhereInput = {
        projectId,
        deletedAt: null,
        ...(f.toolkitSlugs?.length ? { toolkitSlug: { in: f.toolkitSlugs } } : {}),
        ...(f.managed !== undefined ? { isComposioManaged: f.managed } : {}),
        ...(f.showDisabled ? {} : { status: 'ENABLED' }),
        // LIKE wildcards in the search are plain characters.
        ...(f.search ? { OR: [{ name: { contains: f.search.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' } }, { id: f.search }] } : {}),
      };
      const keyset: Prisma.AuthConfigWhereInput = page.after
        ? { OR: [{ createdAt: { lt: page.after.createdAt } }, { createdAt: page.after.createdAt, id: { lt: page.after.id } }] }
        : {};
      const [rows, total, before] = await Promise.all([
        db.authConfig.findMany({ where: { AND: [where, keyset] }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: page.limit + 1 }),
        db.authConfig.count({ where }),
        page.after
          ? db.authConfig.count({
              where: {
                AND: [where, { OR: [{ createdAt: { gt: page.after.createdAt } }, { createdAt: page.after.createdAt, id: { gte: page.after.id } }] }],
              },
            })
          : Promise.resolve(0),
      ]);
      return { rows, total, before };
    },
    /** Live connections per config. */
    async connectionCounts(projectId: string, ids: string[]) {
      if (!ids.length) return new Map<string, number>();
      const groups = await db.connectedAccount.groupBy({
        by: ['authConfigId'],
        where: { projectId, authConfigId: { in: ids }, deletedAt: null },
        _count: { _all: true },
      });
      return new Map(groups.map((g) => [g.authConfigId, g._count._all]));
    },
    /**
     * Soft-deletes the config and, in the same transaction, what goes with it (`cascade`: its
     * connections, written by their own store).
     */
    async softDelete(projectId: string, id: string, cascade: (tx: Prisma.TransactionClient, at: Date) => Promise<unknown>, alongside: Alongside) {
      const at = new Date();
      return db.$transaction(async (tx) => {
        const cfg = await tx.authConfig.updateMany({ where: { id, projectId, deletedAt: null }, data: { deletedAt: at } });
        if (cfg.count !== 1) return false;
        await cascade(tx, at);
        await alongside(tx);
        return true;
      });
    },
    async update(projectId: string, id: string, data: Prisma.AuthConfigUpdateManyMutationInput, alongside: Alongside) {
      const r = await writeWith(db, (tx) => tx.authConfig.updateMany({ where: { id, projectId, deletedAt: null }, data }), (r) => r.count === 1, alongside);
      return r.count === 1;
    },
  };
}
export type AuthConfigsRepository = ReturnType<typeof authConfigsRepository>;
