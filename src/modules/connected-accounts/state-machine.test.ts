import { describe, expect, it } from 'vitest';
import { STATUSES, type Status, canTransition, duration, transition } from './state-machine.js';

describe('transition rules', () => {
  it('allow exactly the moves Latchkey makes', () => {
    const allowed = STATUSES.flatMap((from) => STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(
      [
        'INITIALIZING->INITIATED',
        'INITIALIZING->ACTIVE',
        'INITIALIZING->FAILED',
        'INITIATED->INITIATED',
        'INITIATED->ACTIVE',
        'INITIATED->FAILED',
        'ACTIVE->INACTIVE',
        'ACTIVE->EXPIRED',
        'ACTIVE->REVOKED',
        'ACTIVE->INITIATED',
        'INACTIVE->ACTIVE',
        'FAILED->INITIATED',
        'EXPIRED->INITIATED',
        'REVOKED->INITIATED',
      ].sort(),
    );
  });

  it('refuse anything else with a final 409 naming both statuses', () => {
    const err = (() => {
      try {
        transition('EXPIRED', 'ACTIVE');
      } catch (e) {
        return e as { status: number; slug: string; message: string; headers: Record<string, string> };
      }
    })();
    expect(err).toMatchObject({ status: 409, slug: 'ConnectedAccount_InvalidTransition', headers: { 'x-should-retry': 'false' } });
    expect(err!.message).toContain('EXPIRED');
    expect(transition('ACTIVE' as Status, 'INACTIVE')).toBe('INACTIVE');
  });
});

describe('duration (lifetimes in reasons)', () => {
  it.each([
    [1, '1 millisecond'],
    [500, '500 milliseconds'],
    [1_000, '1 second'],
    [60_000, '60 seconds'],
    [90_000, '90 seconds'],
    [120_000, '2 minutes'],
    [600_000, '10 minutes'],
    [3_600_000, '1 hour'],
    [7 * 86_400_000, '168 hours'],
  ])('%i ms is "%s"', (ms, text) => {
    expect(duration(ms)).toBe(text);
  });
});
