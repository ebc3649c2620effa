/** Prisma access for Connect Link sessions and the pending accounts they complete. */
import type { Db, Prisma } from '../../db/prisma.js';

export function connectLinksRepository(db: Db) {
  return {
    /** The pending account and its link, in one transaction. */
    async create(account: Prisma.ConnectedAccountUncheckedCreateInput, session: Prisma.LinkSessionUncheckedCreateInput) {
      await db.$transaction([db.connectedAccount.create({ data: account, select: { id: true } }), db.linkSession.create({ data: session })]);
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
    /** Pending accounts whose link expired unused become FAILED. */
    async expireUnused(reason: string) {
      const r = await db.connectedAccount.updateMany({
        where: { status: 'INITIALIZING', deletedAt: null, linkSessions: { some: { expiresAt: { lt: new Date() }, usedAt: null } } },
        data: { status: 'FAILED', statusReason: reason },
      });
      return r.count;
    },
  };
}
export type ConnectLinksRepository = ReturnType<typeof connectLinksRepository>;
