/** `npm start`: serve the API. Stops cleanly on SIGTERM/SIGINT: in-flight requests finish first. */
import { buildApp } from './app.js';
import { ConfigError } from './lib/config.js';
import { bootstrapDefaultProject, openRuntime } from './runtime.js';

async function main() {
  const rt = await openRuntime({ migrate: process.env.MIGRATE_ON_START !== 'false' && process.env.MIGRATE_ON_START !== '0' });
  const { config, log } = rt;
  const app = await buildApp({ config, db: rt.db, pool: rt.pool, crypto: rt.crypto });
  if (!config.DATABASE_URL) {
    await bootstrapDefaultProject(app.services.projects, (s) => process.stdout.write(s + '\n'));
  }
  await app.listen({ host: config.HOST, port: config.PORT });
  log.info(`Latchkey is listening on http://${config.HOST}:${config.PORT} (docs at ${config.publicUrl}/docs)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests
      await rt.close(); // database pool, then the embedded server if this process started it
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Latchkey failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
