/**
 * Prisma access for console_users, console_sessions and console_sign_in_links: the only writer of
 * these tables. Tokens arrive here already hashed (HMAC); nothing here sees a token or a password.
 */
import type { Db } from '../../db/prisma.js';

export type ConsoleUserRow = { id: string; email: string; passwordHash: string | null; createdAt: Date; disabledAt: Date | null };

export function consoleUsersRepository(db: Db) {
  return {
    createUser: (data: { id: string; email: string; passwordHash: string | null }) => db.consoleUser.create({ data }),
    findUserByEmail: (email: string) => db.consoleUser.findUnique({ where: { email } }),
    findUser: (id: string) => db.consoleUser.findUnique({ where: { id } }),
    listUsers: () => db.consoleUser.findMany({ orderBy: { createdAt: 'asc' } }),
    async setPassword(id: string, passwordHash: string | null) {
      await db.consoleUser.update({ where: { id }, data: { passwordHash } });
    },
    /** Disabling ends every session of the user in the same transaction. */
    async disableUser(id: string, at: Date) {
      await db.$transaction([
        db.consoleUser.update({ where: { id }, data: { disabledAt: at } }),
        db.consoleSession.updateMany({ where: { userId: id, endedAt: null }, data: { endedAt: at } }),
      ]);
    },

    createLink: (data: { id: string; userId: string; tokenHash: Buffer; expiresAt: Date }) =>
      db.consoleSignInLink.create({ data: { ...data, tokenHash: new Uint8Array(data.tokenHash) }, select: { id: true } }),
    findLink: (tokenHash: Buffer) => db.consoleSignInLink.findUnique({ where: { tokenHash: new Uint8Array(tokenHash) }, include: { user: true } }),
    /** Marks a link used; false when it already was (two tabs racing get one session). */
    async claimLink(id: string, at: Date) {
      const r = await db.consoleSignInLink.updateMany({ where: { id, usedAt: null, expiresAt: { gt: at } }, data: { usedAt: at } });
      return r.count === 1;
    },

    createSession: (data: { id: string; userId: string; tokenHash: Buffer; lastSeenAt: Date; expiresAt: Date }) =>
      db.consoleSession.create({ data: { ...data, tokenHash: new Uint8Array(data.tokenHash) }, select: { id: true } }),
    findSession: (tokenHash: Buffer) => db.consoleSession.findUnique({ where: { tokenHash: new Uint8Array(tokenHash) }, include: { user: true } }),
    async touchSession(id: string, at: Date) {
      await db.consoleSession.updateMany({ where: { id, endedAt: null }, data: { lastSeenAt: at } });
    },
    async endSession(id: string, at: Date) {
      await db.consoleSession.updateMany({ where: { id, endedAt: null }, data: { endedAt: at } });
    },
    /** An operator's sessions and links that can no longer be used (kept a day for inspection). */
    async pruneFor(userId: string, before: Date) {
      await db.consoleSession.deleteMany({ where: { userId, OR: [{ expiresAt: { lt: before } }, { endedAt: { lt: before } }, { lastSeenAt: { lt: before } }] } });
      await db.consoleSignInLink.deleteMany({ where: { userId, OR: [{ expiresAt: { lt: before } }, { usedAt: { lt: before } }] } });
    },
  };
}
export type ConsoleUsersRepository = ReturnType<typeof consoleUsersRepository>;
