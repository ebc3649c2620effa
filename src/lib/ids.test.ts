import { describe, expect, it } from 'vitest';
import { idPattern, newId, newOrderedId } from './ids.js';

describe('ids', () => {
  it('ordered ids sort by their time, whatever their random part, and have the shape of every id', () => {
    const times = [0, 1, 61, 62, 3_843, 1_764_633_600_000, 1_764_633_600_001, 1_764_633_661_999, 62 ** 8 - 1];
    const ids = times.map((t) => newOrderedId('auditLog', t));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(idPattern('auditLog'));
    expect(newOrderedId('webhookDelivery')).toMatch(/^wd_[0-9A-Za-z]{16}$/);
  });

  it('ordered ids made in the same millisecond differ', () => {
    const same = new Set(Array.from({ length: 10_000 }, () => newOrderedId('auditLog', 1_764_633_600_000)));
    expect(same.size).toBe(10_000);
  });

  it('ordered ids made now sort after ids made a millisecond earlier, unlike random ones', () => {
    const now = Date.now();
    expect(newOrderedId('proxyCall', now - 1) < newOrderedId('proxyCall', now)).toBe(true);
    expect(newId('proxyCall')).toMatch(idPattern('proxyCall'));
  });
});
