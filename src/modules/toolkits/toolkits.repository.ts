/** Prisma access for a project's own toolkits. Every query is scoped to the project. */
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
    async deleteCustom(projectId: string, slug: string, alongside: Alongside) {
      const r = await writeWith(db, (tx) => tx.customToolkit.deleteMany({ where: { projectId, slug } }), (r) => r.count === 1, alongside);
      return r.count === 1;
    },
  };
}
export type ToolkitsRepository = ReturnType<typeof toolkitsRepository>;
