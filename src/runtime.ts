/**
 * Start-up shared by the server and the CLI: configuration, logger, secrets, the database (given or
 * embedded), migrations, and the Prisma client. Also the first-start bootstrap of the default project.
 */
import { pino, type Logger } from 'pino';
import { type DatabaseHandle, openDatabase } from './db/database.js';
import { applyMigrations } from './db/migrate.js';
import type pg from 'pg';
import { type Db, createDatabase } from './db/prisma.js';
import { type Config, loadConfig } from './lib/config.js';
import { type Crypto, createCrypto } from './lib/crypto.js';
import { loggerOptions } from './lib/logger.js';
import { resolveSecrets } from './lib/secrets.js';
import type { ProjectsService } from './modules/projects/projects.service.js';

export type Runtime = {
  config: Config;
  log: Logger;
  crypto: Crypto;
  database: DatabaseHandle;
  db: Db;
  pool: pg.Pool;
  close: () => Promise<void>;
};

export async function openRuntime(opts: { migrate: boolean; env?: NodeJS.ProcessEnv; logToStderr?: boolean }): Promise<Runtime> {
  const config = loadConfig(opts.env);
  // The CLI logs to stderr, so that what a command prints (an export) is its stdout alone.
  const log = pino(loggerOptions(config.LOG_LEVEL), opts.logToStderr ? pino.destination(2) : undefined);
  const secrets = resolveSecrets(config, (m) => log.warn(m));
  const database = await openDatabase(config, (m) => log.info(m));
  try {
    if (opts.migrate) {
      const applied = await applyMigrations(database.url);
      if (applied.length) log.info({ applied }, 'applied database migrations');
    }
    const clients = createDatabase(database.url, config.DATABASE_POOL_SIZE, (err) => log.warn({ err: err.message }, 'idle database connection lost'));
    return {
      config,
      log,
      crypto: createCrypto(secrets),
      database,
      db: clients.db,
      pool: clients.pool,
      close: async () => {
        await clients.close();
        await database.stop();
      },
    };
  } catch (err) {
    await database.stop();
    throw err;
  }
}

/**
 * On the first start of the zero-config setup (embedded database, no project yet) create the
 * `default` project and print its key once. With a DATABASE_URL, projects are made with the CLI.
 */
export async function bootstrapDefaultProject(projects: ProjectsService, print: (s: string) => void) {
  if ((await projects.countProjects()) > 0) return;
  const { project, apiKey } = await projects.createProject('default');
  print(
    [
      '',
      '  ┌───────────────────────────────────────────────────────────────────────────┐',
      '  │ Latchkey created the "default" project. Its API key is shown only once:   │',
      '  └───────────────────────────────────────────────────────────────────────────┘',
      '',
      `    project: ${project.id}`,
      `    x-api-key: ${apiKey}`,
      '',
      '  Keep it somewhere safe. Make more keys with: npx latchkey api-keys create --project default',
      '',
    ].join('\n'),
  );
}
