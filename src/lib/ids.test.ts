import { describe, expect, it } from 'vitest';
import { idPattern, newTimeOrderedId } from './ids.js';

describe('newTimeOrderedId', () => {
  it('has the shape of every id, and sorts by time in byte order and in the database collations', () => {
    const times = [0, 1, 35, 36, 1_700_000_000_000, Date.UTC(2026, 11, 2), Date.UTC(2200, 0, 1), 36 ** 9 - 1];
    const ids = times.map((t) => newTimeOrderedId('auditLog', t));
    for (const id of ids) expect(id).toMatch(idPattern('auditLog'));
    // Byte order (C collation) and a linguistic collation agree, so the primary key is appended to.
    expect([...ids].sort()).toEqual(ids);
    expect([...ids].sort((a, b) => a.localeCompare(b, 'en-US'))).toEqual(ids);
  });

  it('stays unique within one millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newTimeOrderedId('auditLog', now)));
    expect(ids.size).toBe(10_000);
  });
});
