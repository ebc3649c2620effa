/**
 * Prisma access for Connect Link sessions. The pending accounts they complete are written by the
 * connected-accounts store; a session created with its account is written inside the store's `tx`.
 */
import type { Db, Prisma } from '../../db/prisma.js';

export function connectLinksRepository(db: Db) {
  return {
    async createSession(session: Prisma.LinkSessionUncheckedCreateInput, tx: Prisma.TransactionClient = db) {
      await tx.linkSession.create({ data: session, select: { id: true } });
    },
    findByHash(tokenHash: Buffer) {
      return db.linkSession.findUnique({ where: { tokenHash: new Uint8Array(tokenHash) } });
    },
    /** Marks a link used; false if it already was. */
    async claim(id: string) {
      const r = await db.linkSession.updateMany({ where: { id, usedAt: null }, data: { usedAt: new Date() } });
      return r.count === 1;
    },
    async release(id: string) {
      await db.linkSession.updateMany({ where: { id }, data: { usedAt: null } });
    },
    project(id: string) {
      return db.project.findUnique({
        where: { id },
        select: { id: true, name: true, linkTtlSeconds: true, brandName: true, brandLogoUrl: true, brandAccent: true },
      });
    },
    /** Links that expired unused while their account still waits on them (oldest first). */
    expiredUnused(take: number) {
      return db.linkSession.findMany({
        where: { expiresAt: { lt: new Date() }, usedAt: null, account: { status: 'INITIALIZING', deletedAt: null } },
        select: { accountId: true, projectId: true, createdAt: true, expiresAt: true },
        orderBy: { expiresAt: 'asc' },
        take,
      });
    },
  };
}
export type ConnectLinksRepository = ReturnType<typeof connectLinksRepository>;
