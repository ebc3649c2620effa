/** Prisma access for a project's own toolkits (and its usage counts). Every query is scoped to the project. */
import type { Db } from '../../db/prisma.js';
import { type Alongside, writeWith } from '../../db/transaction.js';
import type { ToolkitDefinition } from './toolkit-definition.js';

export function toolkitsRepository(db: Db) {
  return {
    listCustom(projectId: string) {
      return db.customToolkit.findMany({ where: { projectId }, orderBy: { slug: 'asc' } });
    },
    findCustom(projectId: string, slug: string) {
      return db.customToolkit.findUnique({ where: { projectId_slug: { projectId, slug } } });
    },
    /** Each change carries its audit record (`alongside`), written in its transaction. */
    createCustom(projectId: string, id: string, def: ToolkitDefinition, alongside: Alongside) {
      return writeWith(db, (tx) => tx.customToolkit.create({ data: { id, projectId, slug: def.slug, definition: def as object } }), () => true, alongside);
    },
    async replaceCustom(projectId: string, slug: string, def: ToolkitDefinition, alongside: Alongside) {
      const r = await writeWith(db, (tx) => tx.customToolkit.updateMany({ where: { projectId, slug }, data: { definition: def as object } }), (r) => r.count === 1, alongside);
      return r.count === 1;
    },
    /** How many live connected accounts the project has per toolkit: `sort_by=usage` (a read only). */
    async usageBySlug(projectId: string): Promise<Map<string, number>> {
      const rows = await db.connectedAccount.groupBy({ by: ['toolkitSlug'], where: { projectId, deletedAt: null }, _count: { _all: true } });
      return new Map(rows.map((r) => [r.toolkitSlug, r._count._all]));
    },
    async deleteCustom(projectId: string, slug: string, alongside: Alongside) {
      const r = await writeWith(db, (tx) => tx.customToolkit.deleteMany({ where: { projectId, slug } }), (r) => r.count === 1, alongside);
      return r.count === 1;
    },
  };
}
export type ToolkitsRepository = ReturnType<typeof toolkitsRepository>;
