/** Prisma access for a project's own toolkits (and its usage counts). Every query is scoped to the project. */
import type { Db } from '../../db/prisma.js';
import type { ToolkitDefinition } from './toolkit-definition.js';

export function toolkitsRepository(db: Db) {
  return {
    listCustom(projectId: string) {
      return db.customToolkit.findMany({ where: { projectId }, orderBy: { slug: 'asc' } });
    },
    findCustom(projectId: string, slug: string) {
      return db.customToolkit.findUnique({ where: { projectId_slug: { projectId, slug } } });
    },
    createCustom(projectId: string, id: string, def: ToolkitDefinition) {
      return db.customToolkit.create({ data: { id, projectId, slug: def.slug, definition: def as object } });
    },
    async replaceCustom(projectId: string, slug: string, def: ToolkitDefinition) {
      const r = await db.customToolkit.updateMany({ where: { projectId, slug }, data: { definition: def as object } });
      return r.count === 1;
    },
    /** How many live connected accounts the project has per toolkit: `sort_by=usage` (a read only). */
    async usageBySlug(projectId: string): Promise<Map<string, number>> {
      const rows = await db.connectedAccount.groupBy({ by: ['toolkitSlug'], where: { projectId, deletedAt: null }, _count: { _all: true } });
      return new Map(rows.map((r) => [r.toolkitSlug, r._count._all]));
    },
    async deleteCustom(projectId: string, slug: string) {
      const r = await db.customToolkit.deleteMany({ where: { projectId, slug } });
      return r.count === 1;
    },
  };
}
export type ToolkitsRepository = ReturnType<typeof toolkitsRepository>;
