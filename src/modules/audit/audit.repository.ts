/**
 * The only writer of `audit_logs`, and its reads. Records are appended and never changed (a
 * trigger refuses UPDATE); the only DELETE is retention pruning. Every read is scoped by project.
 */
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';
import { newOrderedId } from '../../lib/ids.js';
import type { AuditAction, AuditOutcome } from './audit.actions.js';
import { currentActor } from './audit-context.js';

/** What a recorder says; actor and request id default to the current actor's (audit-context.ts). */
export type AuditEntry = {
  projectId: string;
  action: AuditAction;
  objectId: string;
  /**
   * For a record about several objects (one list page that returned credentials: `objectId` is then
   * the project): the objects, found by GET /audit_logs?object_id= as if each had its own record.
   * Latchkey's own ids only (no commas).
   */
  objectIds?: string[];
  outcome?: AuditOutcome;
  /** Non-secret context only: field names, statuses, counts. Never a credential value. */
  detail?: Record<string, unknown>;
  actor?: string;
  requestId?: string;
};

/** A record ready to write: every field resolved, the time taken when the action happened. */
export type AuditRecord = Required<Omit<AuditEntry, 'detail' | 'requestId' | 'objectIds'>> & {
  id: string;
  objectIds: string[] | null;
  requestId: string | null;
  detail: Record<string, unknown> | null;
  at: Date;
};

/** Either a Prisma transaction or a pg client inside BEGIN … COMMIT. */
export type AuditTx = Prisma.TransactionClient | Pick<pg.PoolClient, 'query'>;

export function resolveEntry(e: AuditEntry, at = new Date(), who = currentActor()): AuditRecord {
  // Checked here, where the caller hears of it: in the batched INSERT a comma would split an id.
  if (e.objectIds?.some((id) => id.includes(','))) throw new Error('audit object ids must not contain commas');
  return {
    id: newOrderedId('auditLog'),
    projectId: e.projectId,
    action: e.action,
    objectId: e.objectId.slice(0, 120),
    objectIds: e.objectIds ?? null,
    outcome: e.outcome ?? 'success',
    actor: (e.actor ?? who.actor).slice(0, 120),
    requestId: (e.requestId ?? who.requestId ?? null)?.slice(0, 128) ?? null,
    detail: e.detail ?? null,
    at,
  };
}

const COLUMNS = '(id, project_id, actor, action, object_id, outcome, request_id, detail, created_at, object_ids)';
const INSERT_ONE = `INSERT INTO audit_logs ${COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::text[])`;
/**
 * Many records in one statement (the read buffer's flush). Binding ten arrays costs pg's element
 * escaping in this process; one JSON array instead (json_to_recordset) was measured at 1-2 µs less
 * here and 3-10 µs more in PostgreSQL per record, which shares the machine: arrays stay. A record's
 * object_ids travel comma-joined (unnest would flatten an array of arrays) and are split here.
 */
const INSERT_MANY = `INSERT INTO audit_logs ${COLUMNS}
  SELECT id, project_id, actor, action, object_id, outcome, request_id, detail, created_at, string_to_array(object_ids, ',')
    FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
                $7::varchar[], $8::jsonb[], $9::timestamptz[], $10::text[])
         AS r(id, project_id, actor, action, object_id, outcome, request_id, detail, created_at, object_ids)`;

/** A record's values in COLUMNS order but the last; `valuesOf` adds object_ids as an array, INSERT_MANY comma-joined. */
const scalarValuesOf = (r: AuditRecord) => [r.id, r.projectId, r.actor, r.action, r.objectId, r.outcome, r.requestId, r.detail === null ? null : JSON.stringify(r.detail), r.at];
const valuesOf = (r: AuditRecord) => [...scalarValuesOf(r), r.objectIds];

/**
 * One statement that makes a change and appends its record: `changeSql` (an INSERT, UPDATE or
 * DELETE without RETURNING, with parameters $1…$n) becomes a data-modifying CTE, and the record is
 * inserted once per row it changed — none when it changed nothing. A single statement is atomic, so
 * the change and its record commit together in one round trip (a hot path's alternative to a
 * transaction). The result's rowCount is the number of rows the change made.
 */
export function auditedStatement(changeSql: string, changeValues: unknown[], entry: AuditEntry): { text: string; values: unknown[] } {
  const n = changeValues.length;
  const p = (i: number, type: string) => `$${n + i}::${type}`;
  const select = [p(1, 'varchar'), p(2, 'varchar'), p(3, 'varchar'), p(4, 'varchar'), p(5, 'varchar'), p(6, 'varchar'), p(7, 'varchar'), p(8, 'jsonb'), p(9, 'timestamptz'), p(10, 'text[]')].join(', ');
  return {
    text: `WITH change AS (${changeSql} RETURNING 1) INSERT INTO audit_logs ${COLUMNS} SELECT ${select} FROM change`,
    values: [...changeValues, ...valuesOf(resolveEntry(entry))],
  };
}

export type AuditFilters = { objectId?: string; actor?: string; actions?: string[]; from?: Date; to?: Date };
export type AuditPosition = { at: Date; id: string };

export function auditRepository(db: Db, pool: pg.Pool) {
  return {
    /** Appends one record inside the caller's transaction: it commits or rolls back with the change. */
    async recordIn(tx: AuditTx, entry: AuditEntry): Promise<void> {
      const values = valuesOf(resolveEntry(entry));
      if ('$executeRawUnsafe' in tx) await tx.$executeRawUnsafe(INSERT_ONE, ...values);
      else await tx.query({ name: 'audit_log_record', text: INSERT_ONE, values });
    },

    /** Appends records already resolved (the read buffer), in one statement. */
    async recordMany(records: AuditRecord[]): Promise<void> {
      if (!records.length) return;
      const columns = records.map((r) => [...scalarValuesOf(r), r.objectIds?.join(',') ?? null]);
      const values = columns[0]!.map((_, i) => columns.map((row) => row[i]));
      await pool.query({ name: 'audit_log_record_many', text: INSERT_MANY, values });
    },

    /** Newest first; `after` is the last (created_at, id) of the previous page. */
    list: (projectId: string, f: AuditFilters, limit: number, after?: AuditPosition) =>
      db.auditLog.findMany({
        where: {
          projectId,
          // A record about several objects counts as a record about each (object_ids, GIN).
          ...(f.objectId ? { OR: [{ objectId: f.objectId }, { objectIds: { has: f.objectId } }] } : {}),
          ...(f.actor ? { actor: f.actor } : {}),
          ...(f.actions?.length ? { action: { in: f.actions } } : {}),
          ...(f.from || f.to ? { createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
          ...(after ? { AND: [{ OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      }),

    /** Oldest first from `after`, every project or one: the export's pages. */
    exportPage: (f: { projectId?: string; from?: Date; to?: Date }, limit: number, after?: AuditPosition) =>
      db.auditLog.findMany({
        where: {
          ...(f.projectId ? { projectId: f.projectId } : {}),
          ...(f.from || f.to ? { createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
          ...(after ? { OR: [{ createdAt: { gt: after.at } }, { createdAt: after.at, id: { gt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
      }),

    /** Retention: removes records older than `before`, in batches so no statement holds locks for long. */
    async prune(before: Date, batch = 5000): Promise<number> {
      let total = 0;
      for (;;) {
        const r = await pool.query(
          'DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE created_at < $1 LIMIT $2)',
          [before, batch],
        );
        total += r.rowCount ?? 0;
        if ((r.rowCount ?? 0) < batch) return total;
      }
    },
  };
}
export type AuditRepository = ReturnType<typeof auditRepository>;
