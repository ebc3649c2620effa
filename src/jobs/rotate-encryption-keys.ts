/**
 * `latchkey keys rotate`: re-seals every stored credential under the active key of the keyring,
 * online and in batches. Each row is rewritten with a compare-and-set on its old sealed value, so a
 * concurrent update wins and the row is simply picked up again on the next pass. The associated
 * data (project and row id) is unchanged, so a row stays bound to its owner.
 */
import type { Db } from '../db/prisma.js';
import type { Crypto } from '../lib/crypto.js';

type Table = {
  name: string;
  /** Reads a batch of rows that still use an older key, after `afterId`. */
  read: (afterId: string, take: number) => Promise<{ id: string; projectId: string; sealed: string }[]>;
  write: (id: string, oldSealed: string, newSealed: string) => Promise<boolean>;
  aad: (projectId: string, id: string) => string;
};

export async function rotateEncryptionKeys(
  db: Db,
  crypto: Pick<Crypto, 'open' | 'seal' | 'needsRotation' | 'activeKeyId'>,
  opts: { batchSize?: number; log?: (msg: string) => void } = {},
) {
  const take = opts.batchSize ?? 500;
  const current = `lk1.${crypto.activeKeyId()}.`;
  const tables: Table[] = [
    {
      name: 'connected_accounts',
      read: async (afterId, n) =>
        (
          await db.connectedAccount.findMany({
            where: { id: { gt: afterId }, NOT: { state: { startsWith: current } } },
            select: { id: true, projectId: true, state: true },
            orderBy: { id: 'asc' },
            take: n,
          })
        ).map((r) => ({ id: r.id, projectId: r.projectId, sealed: r.state })),
      write: async (id, old, sealed) => (await db.connectedAccount.updateMany({ where: { id, state: old }, data: { state: sealed } })).count === 1,
      aad: (p, id) => `connected_account:${p}/${id}`,
    },
    {
      name: 'auth_configs',
      read: async (afterId, n) =>
        (
          await db.authConfig.findMany({
            where: { id: { gt: afterId }, credentials: { not: null }, NOT: { credentials: { startsWith: current } } },
            select: { id: true, projectId: true, credentials: true },
            orderBy: { id: 'asc' },
            take: n,
          })
        ).map((r) => ({ id: r.id, projectId: r.projectId, sealed: r.credentials! })),
      write: async (id, old, sealed) => (await db.authConfig.updateMany({ where: { id, credentials: old }, data: { credentials: sealed } })).count === 1,
      aad: (p, id) => `auth_config:${p}/${id}`,
    },
  ];
  const result: Record<string, { rotated: number; raced: number }> = {};
  for (const t of tables) {
    let rotated = 0;
    let raced = 0;
    let after = '';
    for (;;) {
      const rows = await t.read(after, take);
      if (!rows.length) break;
      for (const r of rows) {
        if (!crypto.needsRotation(r.sealed)) continue;
        const aad = t.aad(r.projectId, r.id);
        const ok = await t.write(r.id, r.sealed, crypto.seal(crypto.open(r.sealed, aad), aad));
        if (ok) rotated++;
        else raced++; // changed meanwhile: whoever wrote it sealed it under the active key
      }
      after = rows[rows.length - 1]!.id;
      opts.log?.(`${t.name}: ${rotated} re-sealed so far`);
    }
    result[t.name] = { rotated, raced };
  }
  return result;
}
