/**
 * Prisma access for OAuth redirect attempts (single-use states). The accounts they belong to are
 * written by the connected-accounts store; an attempt that goes with an account write is written
 * here, inside the store's transaction (`tx`).
 */
import type { Db, Prisma } from '../../db/prisma.js';

export type AttemptRow = Awaited<ReturnType<Db['oAuthAttempt']['findFirstOrThrow']>>;
export type NewAttempt = Prisma.OAuthAttemptUncheckedCreateInput;

export const DUE_FOR_REFRESH_SQL = `
  SELECT id, project_id AS "projectId" FROM connected_accounts
   WHERE status = 'ACTIVE' AND deleted_at IS NULL AND token_expires_at < $1
     AND (next_refresh_at IS NULL OR next_refresh_at < now()) AND NOT (id = ANY($3::text[]))
   ORDER BY token_expires_at LIMIT $2`;

export function oauthRepository(db: Db) {
  return {
    /** The first attempt of a new account. */
    async createAttempt(attempt: NewAttempt, tx: Prisma.TransactionClient = db) {
      await tx.oAuthAttempt.create({ data: attempt, select: { id: true } });
    },

    /** A new consent for an account: only the newest may complete it, so earlier unused states die here. */
    async replaceAttempts(attempt: NewAttempt, tx: Prisma.TransactionClient = db) {
      await tx.oAuthAttempt.updateMany({ where: { accountId: attempt.accountId, usedAt: null }, data: { usedAt: new Date() } });
      await tx.oAuthAttempt.create({ data: attempt, select: { id: true } });
    },

    findAttempt(stateHash: Buffer) {
      return db.oAuthAttempt.findUnique({ where: { stateHash: new Uint8Array(stateHash) } });
    },

    /** Marks an attempt used; false if it already was (a replayed state). */
    async claimAttempt(id: string) {
      const r = await db.oAuthAttempt.updateMany({ where: { id, usedAt: null }, data: { usedAt: new Date() } });
      return r.count === 1;
    },

    /**
     * Live accounts whose token expires before `before` and that are not backing off, soonest
     * first, leaving out those a sweep has already handled (`skip`, one array parameter however
     * long it grows). It walks the partial index `connected_accounts_refresh_due_idx`.
     */
    dueForRefresh(before: Date, take: number, skip: string[] = []): Promise<{ id: string; projectId: string }[]> {
      return db.$queryRawUnsafe(DUE_FOR_REFRESH_SQL, before, take, skip);
    },

    /** Attempts expired for a day are of no further use. */
    async pruneAttempts() {
      await db.oAuthAttempt.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 24 * 3600_000) } } });
    },
  };
}
export type OAuthRepository = ReturnType<typeof oauthRepository>;
