/** The Prisma client, on the `pg` driver adapter (no Rust engine). */
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;
export type { Prisma } from '../generated/prisma/client.js';
/** Writes SQL NULL into a Json column. */
export const DbNull = Prisma.DbNull;

export function createPrisma(databaseUrl: string, poolSize = 10): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}
