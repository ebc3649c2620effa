/** Prisma access for projects and their API keys. Every change carries its audit record (`alongside`), in its transaction. */
import type { Db } from '../../db/prisma.js';
import { type Alongside, writeWith } from '../../db/transaction.js';

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
    createProjectWithKey(project: { id: string; name: string }, key: Omit<ApiKeyRow, 'projectId' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>, alongside: Alongside) {
      return writeWith(
        db,
        (tx) => tx.project.create({ data: { ...project, apiKeys: { create: { id: key.id, name: key.name, prefix: key.prefix, hash: new Uint8Array(key.hash) } } } }),
        () => true,
        alongside,
      );
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
    createKey(projectId: string, key: Pick<ApiKeyRow, 'id' | 'name' | 'prefix' | 'hash'> & { maskCredentials?: boolean }, alongside: Alongside) {
      return writeWith(db, (tx) => tx.apiKey.create({ data: { ...key, hash: new Uint8Array(key.hash), projectId } }), () => true, alongside);
    },
    findKeyByHash(hash: Buffer) {
      return db.apiKey.findUnique({ where: { hash: new Uint8Array(hash) }, include: { project: { select: { maskCredentials: true } } } });
    },
    updateProject(projectId: string, data: { linkTtlSeconds?: number; brandName?: string | null; brandLogoUrl?: string | null; brandAccent?: string | null; callbackVerifierUrl?: string | null }, alongside: Alongside) {
      return writeWith(db, (tx) => tx.project.update({ where: { id: projectId }, data }), () => true, alongside);
    },
    setProjectMasking(projectId: string, maskCredentials: boolean, alongside: Alongside) {
      return writeWith(db, (tx) => tx.project.update({ where: { id: projectId }, data: { maskCredentials } }), () => true, alongside);
    },
    listKeys(projectId: string) {
      return db.apiKey.findMany({ where: { projectId }, orderBy: { createdAt: 'asc' } });
    },
    /** Revokes one key of one project; returns false if there is no such live key. */
    async revokeKey(projectId: string, keyId: string, alongside: Alongside): Promise<boolean> {
      const r = await writeWith(db, (tx) => tx.apiKey.updateMany({ where: { id: keyId, projectId, revokedAt: null }, data: { revokedAt: new Date() } }), (r) => r.count === 1, alongside);
      return r.count === 1;
    },
    touchKey(keyId: string, at: Date) {
      return db.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: at } });
    },
  };
}
export type ProjectsRepository = ReturnType<typeof projectsRepository>;
