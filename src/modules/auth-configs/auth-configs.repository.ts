/** Prisma access for auth configs. Every query is scoped to the project, and deleted rows are invisible. */
import type { Db, Prisma } from '../../db/prisma.js';

export type AuthConfigRow = Awaited<ReturnType<Db['authConfig']['findFirstOrThrow']>>;

export function authConfigsRepository(db: Db) {
  return {
    create(data: Prisma.AuthConfigUncheckedCreateInput) {
      return db.authConfig.create({ data });
    },
    find(projectId: string, id: string) {
      return db.authConfig.findFirst({ where: { id, projectId, deletedAt: null } });
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
    /** Soft-deletes the config and its connections together. Aliases are released for reuse. */
    async softDelete(projectId: string, id: string) {
      const at = new Date();
      const [cfg] = await db.$transaction([
        db.authConfig.updateMany({ where: { id, projectId, deletedAt: null }, data: { deletedAt: at } }),
        db.connectedAccount.updateMany({ where: { authConfigId: id, projectId, deletedAt: null }, data: { deletedAt: at, alias: null } }),
      ]);
      return cfg.count === 1;
    },
    async update(projectId: string, id: string, data: Prisma.AuthConfigUpdateManyMutationInput) {
      const r = await db.authConfig.updateMany({ where: { id, projectId, deletedAt: null }, data });
      return r.count === 1;
    },
  };
}
export type AuthConfigsRepository = ReturnType<typeof authConfigsRepository>;
