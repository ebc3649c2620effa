/** A project's own toolkits (and its usage counts): Prisma, and one prepared statement for the read every proxied call makes. Every query is scoped to the project. */
import type pg from 'pg';
import type { Db } from '../../db/prisma.js';
import { type Alongside, writeWith } from '../../db/transaction.js';
import type { ToolkitDefinition } from './toolkit-definition.js';

/** A project's toolkit, as every proxied call of its accounts reads it. */
export type CustomToolkitRow = { definition: unknown; createdAt: Date; updatedAt: Date };

const FIND_CUSTOM_SQL = `SELECT definition, created_at AS "createdAt", updated_at AS "updatedAt" FROM custom_toolkits WHERE project_id = $1 AND slug = $2`;

export function toolkitsRepository(db: Db, pool: pg.Pool) {
  return {
    listCustom(projectId: string) {
      return db.customToolkit.findMany({ where: { projectId }, orderBy: { slug: 'asc' } });
    },
    /**
     * One prepared statement on the pg pool: every proxied call of a custom toolkit's account reads
     * its definition. Prisma's findUnique cost 364-574 µs of this process's CPU a query, this
     * statement 81-137 µs (four alternating rounds of 3,000, one process; bench/README.md).
     */
    async findCustom(projectId: string, slug: string): Promise<CustomToolkitRow | null> {
      const { rows } = await pool.query<CustomToolkitRow>({ name: 'custom_toolkit_find', text: FIND_CUSTOM_SQL, values: [projectId, slug] });
      return rows[0] ?? null;
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
