/**
 * Prisma access for OAuth: redirect attempts (single-use states) and the token-related writes on
 * connected accounts (the refresh lease, new tokens, outcome of a callback). Every account write is
 * scoped to the project and compare-and-set where a status changes.
 */
import type { Db, Prisma } from '../../db/prisma.js';

export type AttemptRow = Awaited<ReturnType<Db['oAuthAttempt']['findFirstOrThrow']>>;

/** How long a process may hold the refresh lease before another may take over. */
export const LEASE_MS = 30_000;

export function oauthRepository(db: Db) {
  return {
    /** The account and its first redirect attempt, in one transaction. */
    async createAccountWithAttempt(account: Prisma.ConnectedAccountUncheckedCreateInput, attempt: Prisma.OAuthAttemptUncheckedCreateInput) {
      await db.$transaction([db.connectedAccount.create({ data: account, select: { id: true } }), db.oAuthAttempt.create({ data: attempt })]);
    },

    /** Moves an account to INITIATED for a new consent (compare-and-set) and records the attempt. */
    async reinitiate(projectId: string, accountId: string, from: string, state: string, attempt: Prisma.OAuthAttemptUncheckedCreateInput) {
      return db.$transaction(async (tx) => {
        const r = await tx.connectedAccount.updateMany({
          where: { id: accountId, projectId, status: from, deletedAt: null },
          data: { status: 'INITIATED', statusReason: null, state },
        });
        if (r.count !== 1) return false;
        // Only the newest consent may complete the account: earlier, unused states die here.
        await tx.oAuthAttempt.updateMany({ where: { accountId, usedAt: null }, data: { usedAt: new Date() } });
        await tx.oAuthAttempt.create({ data: attempt });
        return true;
      });
    },

    findAttempt(stateHash: Buffer) {
      return db.oAuthAttempt.findUnique({ where: { stateHash: new Uint8Array(stateHash) } });
    },

    /** Marks an attempt used; false if it already was (a replayed state). */
    async claimAttempt(id: string) {
      const r = await db.oAuthAttempt.updateMany({ where: { id, usedAt: null }, data: { usedAt: new Date() } });
      return r.count === 1;
    },

    /** Writes the outcome of a callback or a refresh, if the account still has status `from`. */
    async finish(projectId: string, id: string, from: string, data: Prisma.ConnectedAccountUpdateManyMutationInput) {
      const r = await db.connectedAccount.updateMany({ where: { id, projectId, status: from, deletedAt: null }, data });
      return r.count === 1;
    },

    /** Takes the refresh lease of an ACTIVE account; false while another process holds it. */
    async acquireLease(projectId: string, id: string) {
      const now = new Date();
      const r = await db.connectedAccount.updateMany({
        where: { id, projectId, status: 'ACTIVE', deletedAt: null, OR: [{ refreshLeaseUntil: null }, { refreshLeaseUntil: { lt: now } }] },
        data: { refreshLeaseUntil: new Date(now.getTime() + LEASE_MS) },
      });
      return r.count === 1;
    },

    /** Writes under the lease and releases it in the same statement. */
    async releaseLease(projectId: string, id: string, data: Prisma.ConnectedAccountUpdateManyMutationInput) {
      await db.connectedAccount.updateMany({ where: { id, projectId }, data: { ...data, refreshLeaseUntil: null } });
    },

    /** ACTIVE OAuth accounts whose token expires before `before` and that are not backing off. */
    dueForRefresh(before: Date, take: number) {
      const now = new Date();
      return db.connectedAccount.findMany({
        where: {
          status: 'ACTIVE',
          deletedAt: null,
          tokenExpiresAt: { lt: before },
          OR: [{ nextRefreshAt: null }, { nextRefreshAt: { lt: now } }],
        },
        select: { id: true, projectId: true },
        orderBy: { tokenExpiresAt: 'asc' },
        take,
      });
    },

    /** Redirects never completed within the time allowed become FAILED. */
    async expireStale(olderThan: Date, reason: string) {
      const r = await db.connectedAccount.updateMany({
        where: { status: 'INITIATED', updatedAt: { lt: olderThan }, deletedAt: null },
        data: { status: 'FAILED', statusReason: reason },
      });
      await db.oAuthAttempt.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 24 * 3600_000) } } });
      return r.count;
    },
  };
}
export type OAuthRepository = ReturnType<typeof oauthRepository>;
