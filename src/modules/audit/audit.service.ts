/**
 * The audit log: recording (changes inside their own transaction, reads through the buffer),
 * reading a project's records with filters and keyset pages, retention and export.
 */
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import type { AuditBuffer } from './audit-buffer.js';
import type { AuditEntry, AuditFilters, AuditRepository, AuditTx } from './audit.repository.js';
import type { AuditRecordObject } from './audit.schemas.js';

const CursorShape = z.object({ v: z.iso.datetime(), i: z.string().max(64) });
const DAY_MS = 86_400_000;

type Row = Awaited<ReturnType<AuditRepository['list']>>[number];

export const toAuditObject = (r: Row): AuditRecordObject => ({
  id: r.id,
  actor: r.actor,
  action: r.action,
  object_id: r.objectId,
  object_ids: r.objectIds.length ? r.objectIds : null,
  outcome: r.outcome as AuditRecordObject['outcome'],
  request_id: r.requestId,
  detail: (r.detail as Record<string, unknown> | null) ?? null,
  created_at: r.createdAt.toISOString(),
});

/** The filters of GET /audit_logs (and of the console's audit page): all optional, combined with AND. */
export type AuditListFilters = { object_id?: string; actor?: string; action?: string[]; from?: string; to?: string };

export function auditService(deps: { repo: AuditRepository; buffer: AuditBuffer; retentionDays: number }) {
  const { repo, buffer } = deps;
  return {
    /** Appends the record of a change inside the change's own transaction. */
    record: (tx: AuditTx, entry: AuditEntry) => repo.recordIn(tx, entry),

    /**
     * Queues the record of a read that returned a secret (written within a second, in a batch).
     * A promise when the queue is full: the caller awaits it before handing the secret out.
     */
    recordRead: (entry: AuditEntry) => buffer.push(entry),

    /**
     * A project's records, newest first, `limit` at a time; `cursor` is the previous page's
     * `next_cursor` (a 400 when it does not decode). Times are ISO 8601; `from` inclusive, `to` exclusive.
     */
    async listAuditLogs(projectId: string, f: AuditListFilters, cursor: string | undefined, limit: number) {
      const after = cursor ? decodeCursor(cursor, CursorShape) : undefined;
      const filters: AuditFilters = {
        objectId: f.object_id,
        actor: f.actor,
        actions: f.action,
        from: f.from ? new Date(f.from) : undefined,
        to: f.to ? new Date(f.to) : undefined,
      };
      const rows = await repo.list(projectId, filters, limit, after && { at: new Date(after.v), id: after.i });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(toAuditObject),
        next_cursor: rows.length > limit && last ? encodeCursor({ v: last.createdAt.toISOString(), i: last.id }) : null,
      };
    },

    /** Every record (of one project, or all) oldest first, a page at a time. */
    async *export(f: { projectId?: string; from?: Date; to?: Date }, pageSize = 1000) {
      let after: { at: Date; id: string } | undefined;
      for (;;) {
        const rows = await repo.exportPage(f, pageSize, after);
        for (const r of rows) yield { project_id: r.projectId, ...toAuditObject(r) };
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = { at: last.createdAt, id: last.id };
      }
    },

    /** Retention (the maintenance job): drops records older than the retention period. */
    prune: () => repo.prune(new Date(Date.now() - deps.retentionDays * DAY_MS)),

    /** Writes the buffered read records now. */
    flush: () => buffer.flush(),
    /** Read records queued and not yet written. */
    pendingReads: () => buffer.pendingCount(),
    /** Stops the buffer's timer after writing what it holds (clean shutdown). */
    close: () => buffer.close(),
  };
}
export type AuditService = ReturnType<typeof auditService>;
