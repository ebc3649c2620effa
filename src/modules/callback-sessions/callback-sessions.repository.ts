/**
 * Prisma access for parked OAuth callbacks (verified callbacks). This module is the table's only
 * writer; a session that goes with an account write is written inside the store's transaction (`tx`).
 */
import type { Db, Prisma } from '../../db/prisma.js';

export type CallbackSessionRow = NonNullable<Awaited<ReturnType<Db['callbackSession']['findUnique']>>>;

export function callbackSessionsRepository(db: Db) {
  return {
    async create(row: Prisma.CallbackSessionUncheckedCreateInput, tx: Prisma.TransactionClient = db) {
      await tx.callbackSession.create({ data: row, select: { id: true } });
    },

    findByHash(hash: Buffer) {
      return db.callbackSession.findUnique({ where: { hash: new Uint8Array(hash) } });
    },

    /** Marks a session used; false when another redemption got there first. */
    async claim(id: string) {
      const r = await db.callbackSession.updateMany({ where: { id, usedAt: null }, data: { usedAt: new Date() } });
      return r.count === 1;
    },

    /** Sessions expired for a day are of no further use (their grants go with them). */
    async pruneExpired() {
      await db.callbackSession.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 24 * 3600_000) } } });
    },
  };
}
export type CallbackSessionsRepository = ReturnType<typeof callbackSessionsRepository>;
