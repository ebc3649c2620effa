/**
 * The proxy module's tables, and their only writer: `proxy_calls` (what each proxied call did,
 * never its bodies or credentials) and `proxy_files` (binary responses behind short-lived download
 * URLs, their bodies sealed). Every read by the API is scoped by project.
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

    /** `sealedBytes` is the body sealed by the service; `size` the plaintext's length. */
    saveFile: async (f: { id: string; projectId: string; contentType: string; size: number; sealedBytes: string; expiresAt: Date }) => {
      await db.proxyFile.create({ data: f });
    },

    /** A live file of this project, or null (expired, unknown, or another project's). */
    findFile: (projectId: string, id: string) => db.proxyFile.findFirst({ where: { id, projectId, expiresAt: { gt: new Date() } } }),

    /** Up to `limit` files still holding a plaintext body (stored by a release before sealing). */
    plaintextFiles: (limit: number) =>
      db.proxyFile.findMany({ where: { legacyBytes: { not: null } }, select: { id: true, projectId: true, legacyBytes: true }, orderBy: { id: 'asc' }, take: limit }),

    /** Replaces a file's plaintext body with its sealed form, in one statement; false if already done. */
    sealPlaintextFile: async (id: string, sealedBytes: string) =>
      (await db.proxyFile.updateMany({ where: { id, legacyBytes: { not: null } }, data: { sealedBytes, legacyBytes: null } })).count === 1,

    /** Removes expired files and call records older than `callsBefore`. */
    prune: async (callsBefore: Date) => {
      const files = await db.proxyFile.deleteMany({ where: { expiresAt: { lte: new Date() } } });
      const calls = await db.proxyCall.deleteMany({ where: { createdAt: { lt: callsBefore } } });
      return { files: files.count, calls: calls.count };
    },
  };
}
export type ProxyRepository = ReturnType<typeof proxyRepository>;
