/**
 * The proxy module's tables, and their only writer: `proxy_calls` (what each proxied call did,
 * never its bodies or credentials) and `proxy_files` (binary responses behind short-lived download
 * URLs). Every read is scoped by project.
 */
import type pg from 'pg';
import type { Db } from '../../db/prisma.js';

/** Written on every proxied call: one prepared statement, not a Prisma round of query planning. */
const RECORD_SQL = `INSERT INTO proxy_calls (id, project_id, api_key_id, account_id, method, host, path, upstream_status, error, bytes_in, bytes_out, duration_ms)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

export type NewProxyCall = {
  id: string;
  projectId: string;
  apiKeyId: string;
  accountId: string;
  method: string;
  host: string;
  path: string;
  upstreamStatus: number | null;
  error: string | null;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
};

export function proxyRepository(db: Db, pool: pg.Pool) {
  return {
    recordCall: async (c: NewProxyCall) => {
      await pool.query({
        name: 'proxy_call_record',
        text: RECORD_SQL,
        values: [c.id, c.projectId, c.apiKeyId, c.accountId, c.method, c.host, c.path, c.upstreamStatus, c.error, c.bytesIn, c.bytesOut, c.durationMs],
      });
    },

    /** Newest first; `after` is the last (createdAt, id) of the previous page. */
    listCalls: (projectId: string, accountId: string, limit: number, after?: { at: Date; id: string }) =>
      db.proxyCall.findMany({
        where: {
          projectId,
          accountId,
          ...(after ? { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      }),

    saveFile: async (f: { id: string; projectId: string; contentType: string; bytes: Buffer; expiresAt: Date }) => {
      await db.proxyFile.create({ data: { ...f, bytes: new Uint8Array(f.bytes), size: f.bytes.length } });
    },

    /** A live file of this project, or null (expired, unknown, or another project's). */
    findFile: (projectId: string, id: string) => db.proxyFile.findFirst({ where: { id, projectId, expiresAt: { gt: new Date() } } }),

    /** Removes expired files and call records older than `callsBefore`. */
    prune: async (callsBefore: Date) => {
      const files = await db.proxyFile.deleteMany({ where: { expiresAt: { lte: new Date() } } });
      const calls = await db.proxyCall.deleteMany({ where: { createdAt: { lt: callsBefore } } });
      return { files: files.count, calls: calls.count };
    },
  };
}
export type ProxyRepository = ReturnType<typeof proxyRepository>;
