/**
 * `latchkey keys rotate`: re-seals every sealed value named in the registry (src/lib/sealed.ts)
 * under the active key of the keyring, online and in batches. Each value is rewritten with a
 * compare-and-set on its old sealed form, so a concurrent update wins and the row is simply current
 * already. The associated data (kind, project and owner) is unchanged, so a value stays bound to
 * its owner. A value that does not open under any key of the keyring is counted and left as it is.
 */
import type pg from 'pg';
import type { Crypto } from '../lib/crypto.js';
import { DecryptError } from '../lib/crypto.js';
import { SEALED_COLUMNS, type SealedColumn, type SealedName, associatedData } from '../lib/sealed.js';

/** Writes one re-sealed value if the stored one is still `oldSealed`; true when it did. */
export type Reseal = (row: { id: string; projectId: string }, oldSealed: string, newSealed: string) => Promise<boolean>;

export type RotationResult = Record<string, { rotated: number; raced: number; unreadable: number }>;

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The stored value's SQL expression: the column, or one key of a JSON column. */
const valueSql = (c: SealedColumn) => (c.jsonKey ? `${ident(c.column)} ->> '${c.jsonKey}'` : ident(c.column));

function genericReseal(pool: pg.Pool, c: SealedColumn): Reseal {
  const target = c.jsonKey ? `${ident(c.column)} = jsonb_set(${ident(c.column)}, '{${c.jsonKey}}', to_jsonb($3::text))` : `${ident(c.column)} = $3`;
  const sql = `UPDATE ${ident(c.table)} SET ${target} WHERE id = $1 AND ${valueSql(c)} = $2`;
  return async (row, oldSealed, newSealed) => ((await pool.query(sql, [row.id, oldSealed, newSealed])).rowCount ?? 0) === 1;
}

export async function rotateEncryptionKeys(
  pool: pg.Pool,
  crypto: Pick<Crypto, 'open' | 'seal' | 'activeKeyId'>,
  opts: {
    batchSize?: number;
    log?: (msg: string) => void;
    /**
     * Owners' own writers for their tables (a table's rows change only through its store): the
     * connected-accounts store must write its accounts; other columns use a compare-and-set here.
     */
    writers: Partial<Record<SealedName, Reseal>> & { connectedAccountState: Reseal };
  },
): Promise<RotationResult> {
  const take = opts.batchSize ?? 500;
  const current = `lk1.${crypto.activeKeyId().replace(/[\\%_]/g, '\\$&')}.%`;
  const result: RotationResult = {};
  for (const [name, c] of Object.entries(SEALED_COLUMNS) as [SealedName, SealedColumn][]) {
    const write = opts.writers[name] ?? genericReseal(pool, c);
    const batch = Math.min(take, c.batchSize ?? take);
    const read = `SELECT id, project_id, ${ident(c.ownerColumn)} AS owner, ${valueSql(c)} AS sealed FROM ${ident(c.table)}
                   WHERE id > $1 AND ${valueSql(c)} IS NOT NULL AND ${valueSql(c)} NOT LIKE $2 ORDER BY id LIMIT $3`;
    const n = { rotated: 0, raced: 0, unreadable: 0 };
    let after = '';
    for (;;) {
      const { rows } = await pool.query<{ id: string; project_id: string; owner: string | null; sealed: string }>(read, [after, current, batch]);
      if (!rows.length) break;
      for (const r of rows) {
        const aad = associatedData(name, r.project_id, r.owner ?? '');
        let plaintext: string;
        try {
          plaintext = crypto.open(r.sealed, aad);
        } catch (err) {
          if (!(err instanceof DecryptError)) throw err;
          n.unreadable++;
          continue;
        }
        if (await write({ id: r.id, projectId: r.project_id }, r.sealed, crypto.seal(plaintext, aad))) n.rotated++;
        else n.raced++; // changed meanwhile: whoever wrote it sealed it under the active key
      }
      after = rows[rows.length - 1]!.id;
      opts.log?.(`${c.table}.${c.column}: ${n.rotated} re-sealed so far`);
    }
    result[`${c.table}.${c.column}${c.jsonKey ? `.${c.jsonKey}` : ''}`] = n;
  }
  return result;
}
