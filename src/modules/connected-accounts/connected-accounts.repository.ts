/**
 * Prisma access for connected accounts. Every query is scoped to the project; deleted accounts are
 * invisible. Status changes are compare-and-set on the previous status (see state-machine.ts).
 */
import type { Db, Prisma } from '../../db/prisma.js';

const withConfig = { authConfig: { select: { isComposioManaged: true, status: true, deletedAt: true } } } as const;
export type AccountRow = Prisma.ConnectedAccountGetPayload<{ include: typeof withConfig }>;

export type ListFilters = {
  userIds?: string[];
  toolkitSlugs?: string[];
  authConfigIds?: string[];
  ids?: string[];
  statuses?: string[];
  accountType: 'PRIVATE' | 'SHARED' | 'ALL';
};
export type Order = { by: 'createdAt' | 'updatedAt'; dir: 'asc' | 'desc' };

export function connectedAccountsRepository(db: Db) {
  return {
    create(data: Prisma.ConnectedAccountUncheckedCreateInput) {
      return db.connectedAccount.create({ data, include: withConfig });
    },
    find(projectId: string, id: string): Promise<AccountRow | null> {
      return db.connectedAccount.findFirst({ where: { id, projectId, deletedAt: null }, include: withConfig });
    },
    async list(projectId: string, f: ListFilters, order: Order, page: { after?: { at: Date; id: string }; limit: number }) {
      const where: Prisma.ConnectedAccountWhereInput = {
        projectId,
        deletedAt: null,
        ...(f.userIds?.length ? { userId: { in: f.userIds } } : {}),
        ...(f.toolkitSlugs?.length ? { toolkitSlug: { in: f.toolkitSlugs } } : {}),
        ...(f.authConfigIds?.length ? { authConfigId: { in: f.authConfigIds } } : {}),
        ...(f.ids?.length ? { id: { in: f.ids } } : {}),
        ...(f.statuses?.length ? { status: { in: f.statuses } } : {}),
        ...(f.accountType === 'ALL' ? {} : { accountType: f.accountType }),
      };
      const cmp = order.dir === 'desc' ? 'lt' : 'gt';
      const keyset: Prisma.ConnectedAccountWhereInput = page.after
        ? { OR: [{ [order.by]: { [cmp]: page.after.at } }, { [order.by]: page.after.at, id: { [cmp]: page.after.id } }] }
        : {};
      const [rows, total] = await Promise.all([
        db.connectedAccount.findMany({
          where: { AND: [where, keyset] },
          include: withConfig,
          orderBy: [{ [order.by]: order.dir }, { id: order.dir }],
          take: page.limit + 1,
        }),
        db.connectedAccount.count({ where }),
      ]);
      return { rows, total };
    },
    /** Active accounts with this alias for the same user and toolkit. */
    aliasTaken(projectId: string, userId: string, toolkitSlug: string, alias: string, exceptId?: string) {
      return db.connectedAccount.findFirst({
        where: { projectId, userId, toolkitSlug, alias, deletedAt: null, ...(exceptId ? { id: { not: exceptId } } : {}) },
        select: { id: true },
      });
    },
    /** Compare-and-set update: applies only while the account still has status `from`. */
    async updateIf(projectId: string, id: string, from: string, data: Prisma.ConnectedAccountUpdateManyMutationInput) {
      const r = await db.connectedAccount.updateMany({ where: { id, projectId, status: from, deletedAt: null }, data });
      return r.count === 1;
    },
    async softDelete(projectId: string, id: string) {
      const r = await db.connectedAccount.updateMany({ where: { id, projectId, deletedAt: null }, data: { deletedAt: new Date(), alias: null } });
      return r.count === 1;
    },
  };
}
export type ConnectedAccountsRepository = ReturnType<typeof connectedAccountsRepository>;
