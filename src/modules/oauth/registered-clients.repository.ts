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
     * Adds a registration; false when this project already has one for the server and redirect URI
     * (a concurrent first connection registered too: the caller uses that one). A replaced
     * registration is forgotten first and added as a new row (its secret is sealed to its own id).
     */
    async add(c: NewRegisteredClient): Promise<boolean> {
      const r = await db.registeredClient.createMany({ data: [{ ...c, serverMetadata: c.serverMetadata as object }], skipDuplicates: true });
      return r.count === 1;
    },

    /** Forgets a client the server no longer accepts (invalid_client); only that one, not a newer registration. */
    async forget(projectId: string, issuer: string, redirectUri: string, clientId: string) {
      await db.registeredClient.deleteMany({ where: { projectId, issuer, redirectUri, clientId } });
    },
  };
}
export type RegisteredClientsRepository = ReturnType<typeof registeredClientsRepository>;
