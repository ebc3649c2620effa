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
import { type BenchDatabase, benchAppConfig, benchCrypto, openBenchDatabase } from './database.js';

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
 * Runs a benchmark's main and exits: 0 when it finished, 1 with the error's stack when it failed, 1
 * when it ran longer than `watchdogMs` (its own `finally` blocks are then skipped, but an embedded
 * server stops with the process and its folder is removed on exit).
 */
export function runBench(name: string, main: () => Promise<void>, o: { watchdogMs?: number } = {}): void {
  if (o.watchdogMs) {
    setTimeout(() => {
      process.stderr.write(`${name} took too long; aborting\n`);
      process.exit(1);
    }, o.watchdogMs).unref();
  }
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
