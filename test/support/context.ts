/**
 * A running Latchkey for one test file: its own database, the real buildApp, captured logs, and a
 * project with an API key. Everything is real; nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import supertest from 'supertest';
import { afterAll, beforeAll } from 'vitest';
import { type AppConfig, buildApp } from '../../src/app.js';
import type pg from 'pg';
import { type Db, createDatabase } from '../../src/db/prisma.js';
import { createCrypto } from '../../src/lib/crypto.js';
import type { Resolver } from '../../src/modules/egress/egress.js';
import type { ToolkitDefinition } from '../../src/modules/toolkits/toolkit-definition.js';
import { freshDatabase } from './database.js';

export const TEST_SECRETS = {
  hmacSecret: randomBytes(32),
  encryptionKeys: new Map([['t1', randomBytes(32)]]),
  activeKeyId: 't1',
};

export const TEST_CONFIG: AppConfig = {
  LOG_LEVEL: 'info',
  BODY_LIMIT_BYTES: 64 * 1024,
  TRUST_PROXY: false,
  RATE_LIMIT_MAX: 10_000,
  RATE_LIMIT_WINDOW_MS: 60_000,
  API_KEY_CACHE_MS: 5_000,
  publicUrl: 'http://127.0.0.1',
};

export type TestContext = {
  app: FastifyInstance;
  db: Db;
  pool: pg.Pool;
  databaseUrl: string;
  http: ReturnType<typeof supertest>;
  apiKey: string;
  projectId: string;
  /** Everything logged so far, as raw text. */
  logs: () => string;
  /** A second project, for tenancy tests. */
  newProject: (name?: string) => Promise<{ projectId: string; apiKey: string }>;
  close: () => Promise<void>;
};

export type TestContextOptions = {
  config?: Partial<AppConfig>;
  secrets?: typeof TEST_SECRETS;
  beforeReady?: (app: FastifyInstance) => void;
  /** Name resolution for Latchkey's outgoing calls (e.g. a public-looking name that answers 127.0.0.1). */
  resolveHost?: Resolver;
  /** The built-in catalogue to serve instead of the real one (e.g. real entries pointed at a test provider). */
  catalogue?: Map<string, ToolkitDefinition>;
};

/**
 * One test context for the calling file (or describe block): opened before its tests, closed after.
 * The object is filled in by the beforeAll hook, so it is usable in tests and hooks only.
 */
export function useTestContext(opts: TestContextOptions = {}): TestContext {
  const ctx = {} as TestContext;
  beforeAll(async () => {
    Object.assign(ctx, await createTestContext(opts));
  });
  afterAll(() => ctx.close?.());
  return ctx;
}

export async function createTestContext(opts: TestContextOptions = {}): Promise<TestContext> {
  const database = await freshDatabase();
  const clients = createDatabase(database.url, 5);
  const { db, pool } = clients;
  const chunks: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const crypto = createCrypto(opts.secrets ?? TEST_SECRETS);
  const app = await buildApp({ config: { ...TEST_CONFIG, ...opts.config }, db, pool, crypto, logStream, resolveHost: opts.resolveHost, catalogue: opts.catalogue });
  opts.beforeReady?.(app);
  await app.ready();
  let n = 0;
  const newProject = async (name?: string) => {
    const { project, apiKey } = await app.services.projects.createProject(name ?? `project-${++n}-${randomBytes(3).toString('hex')}`);
    return { projectId: project.id, apiKey };
  };
  const first = await newProject('test-project');
  return {
    app,
    db,
    pool,
    databaseUrl: database.url,
    http: supertest(app.server),
    apiKey: first.apiKey,
    projectId: first.projectId,
    logs: () => chunks.join(''),
    newProject,
    close: async () => {
      await app.close();
      await clients.close();
      await database.drop();
    },
  };
}
