/**
 * Prisma access for the OAuth clients Latchkey registered itself (RFC 7591) at authorization
 * servers discovered from MCP server URLs: one per project, authorization server (issuer) and
 * redirect URI. This module is the table's only writer; the client secret arrives sealed.
 */
import type { Db } from '../../db/prisma.js';

export type RegisteredClientRow = NonNullable<Awaited<ReturnType<Db['registeredClient']['findUnique']>>>;
export type NewRegisteredClient = Omit<RegisteredClientRow, 'createdAt' | 'serverMetadata'> & { serverMetadata: Record<string, unknown> };

export function registeredClientsRepository(db: Db) {
  const key = (projectId: string, issuer: string, redirectUri: string) => ({ projectId_issuer_redirectUri: { projectId, issuer, redirectUri } });
  return {
    find(projectId: string, issuer: string, redirectUri: string) {
      return db.registeredClient.findUnique({ where: key(projectId, issuer, redirectUri) });
    },

    /**
     * Keeps the newest registration for this server: a re-registration replaces the rejected one as
     * a new row (its secret is sealed to its own id).
     */
    async save(c: NewRegisteredClient) {
      await db.$transaction([
        db.registeredClient.deleteMany({ where: { projectId: c.projectId, issuer: c.issuer, redirectUri: c.redirectUri } }),
        db.registeredClient.create({ data: { ...c, serverMetadata: c.serverMetadata as object }, select: { id: true } }),
      ]);
    },

    /** Forgets a client the server no longer accepts (invalid_client); only that one, not a newer registration. */
    async forget(projectId: string, issuer: string, redirectUri: string, clientId: string) {
      await db.registeredClient.deleteMany({ where: { projectId, issuer, redirectUri, clientId } });
    },
  };
}
export type RegisteredClientsRepository = ReturnType<typeof registeredClientsRepository>;
