/**
 * Every foreign key has an index that starts with its column. Deleting a parent row makes
 * PostgreSQL look up its children by that column (to cascade or to refuse); without the index each
 * deleted parent reads the whole child table. The outbox's retention deleted events that way and
 * read every retained delivery once per event (18 s for 2,000 events; bench/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('foreign keys', () => {
  it('each has an index led by its column (one-column keys, as all of them are)', async () => {
    const { rows } = await ctx.pool.query<{ child: string; columns: string; parent: string; indexed: boolean; width: number }>(`
      SELECT c.conrelid::regclass::text AS child, array_to_string(ARRAY(SELECT attname FROM pg_attribute
               WHERE attrelid = c.conrelid AND attnum = ANY(c.conkey)), ',') AS columns,
             c.confrelid::regclass::text AS parent,
             EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1] AND i.indpred IS NULL) AS indexed,
             cardinality(c.conkey) AS width
        FROM pg_constraint c
       WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
       ORDER BY 1, 2`);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => r.width !== 1)).toEqual([]);
    expect(rows.filter((r) => !r.indexed).map((r) => `${r.child}(${r.columns}) -> ${r.parent}`)).toEqual([]);
  });
});
