/** Writes that must commit together: a change and its audit record, or another module's row. */
import type { Db, Prisma } from './prisma.js';

export type Tx = Prisma.TransactionClient;
/** A write that belongs in another write's transaction. */
export type Alongside = (tx: Tx) => Promise<unknown>;

/**
 * Runs `write` and, when it changed something (`applied`), `alongside`, in one transaction: both
 * commit or neither does.
 */
export function writeWith<T>(db: Db, write: (tx: Tx) => Promise<T>, applied: (result: T) => boolean, alongside: Alongside): Promise<T> {
  return db.$transaction(async (tx) => {
    const r = await write(tx);
    if (applied(r)) await alongside(tx);
    return r;
  });
}
