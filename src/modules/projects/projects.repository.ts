/** Prisma access for projects and their API keys. */
import type { Db } from '../../db/prisma.js';

export type ApiKeyRow = {
  id: string;
  projectId: string;
  name: string;
  prefix: string;
  hash: Uint8Array;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export function projectsRepository(db: Db) {
  return {
    createProjectWithKey(project: { id: string; name: string }, key: Omit<ApiKeyRow, 'projectId' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>) {
      return db.project.create({
        data: { ...project, apiKeys: { create: { id: key.id, name: key.name, prefix: key.prefix, hash: new Uint8Array(key.hash) } } },
      });
    },
    countProjects() {
      return db.project.count();
    },
    findProject(id: string) {
      return db.project.findUnique({ where: { id } });
    },
    /** The verified-callbacks setting (read on every OAuth callback). */
    async callbackVerifierUrl(id: string) {
      return (await db.project.findUnique({ where: { id }, select: { callbackVerifierUrl: true } }))?.callbackVerifierUrl ?? null;
    },
    findProjectByName(name: string) {
      return db.project.findUnique({ where: { name } });
    },
    listProjects() {
      return db.project.findMany({ orderBy: { createdAt: 'asc' } });
    },
    createKey(projectId: string, key: Pick<ApiKeyRow, 'id' | 'name' | 'prefix' | 'hash'> & { maskCredentials?: boolean }) {
      return db.apiKey.create({ data: { ...key, hash: new Uint8Array(key.hash), projectId } });
    },
    findKeyByHash(hash: Buffer) {
      return db.apiKey.findUnique({ where: { hash: new Uint8Array(hash) }, include: { project: { select: { maskCredentials: true } } } });
    },
    updateProject(projectId: string, data: { linkTtlSeconds?: number; brandName?: string | null; brandLogoUrl?: string | null; brandAccent?: string | null; callbackVerifierUrl?: string | null }) {
      return db.project.update({ where: { id: projectId }, data });
    },
    setProjectMasking(projectId: string, maskCredentials: boolean) {
      return db.project.update({ where: { id: projectId }, data: { maskCredentials } });
    },
    listKeys(projectId: string) {
      return db.apiKey.findMany({ where: { projectId }, orderBy: { createdAt: 'asc' } });
    },
    /** Revokes one key of one project; returns false if there is no such live key. */
    async revokeKey(projectId: string, keyId: string): Promise<boolean> {
      const r = await db.apiKey.updateMany({ where: { id: keyId, projectId, revokedAt: null }, data: { revokedAt: new Date() } });
      return r.count === 1;
    },
    touchKey(keyId: string, at: Date) {
      return db.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: at } });
    },
  };
}
export type ProjectsRepository = ReturnType<typeof projectsRepository>;
