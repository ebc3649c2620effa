/**
 * The database clients: one `pg` pool per process, used by Prisma (through the pg driver adapter,
 * no Rust engine) and directly by the few hot reads that a single hand-written query serves best.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;
export type { Prisma } from '../generated/prisma/client.js';
/** Writes SQL NULL into a Json column. */
export const DbNull = Prisma.DbNull;

export type Database = { db: Db; pool: pg.Pool; close: () => Promise<void> };

export function createDatabase(databaseUrl: string, poolSize = 10, onError?: (err: Error) => void): Database {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // An idle connection dropped by the server (restart, failover, shutdown) must not crash the process;
  // the pool replaces it on the next checkout.
  pool.on('error', (err) => onError?.(err));
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    db,
    pool,
    close: async () => {
      await db.$disconnect();
      await pool.end();
    },
  };
}
