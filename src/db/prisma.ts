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

/**
 * A pg pool that never crashes the process when the server goes away. pg emits 'error' on a client
 * whose connection dies (an administrator's shutdown, a restart, a dropped socket); with no listener
 * that is fatal. The pool listens only while a client is idle, and a checked-out client (inside a
 * Prisma transaction, between its statements) may have none at that moment. So every client gets a
 * listener of its own for its whole life; the error still fails the query that was running, and the
 * pool discards the dead client on release.
 */
export function createPool(databaseUrl: string, max: number, onError?: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', (err) => onError?.(err));
  pool.on('connect', (client) => {
    client.on('error', (err) => onError?.(err));
  });
  return pool;
}

export function createDatabase(databaseUrl: string, poolSize = 10, onError?: (err: Error) => void): Database {
  const pool = createPool(databaseUrl, poolSize, onError);
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
