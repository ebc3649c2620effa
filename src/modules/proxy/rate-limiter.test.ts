import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { accountRateLimiter } from './rate-limiter.js';

describe('per-account proxy rate limit', () => {
  it('allows max calls per window for each account on its own, then answers 429 with retry-after', () => {
    const limiter = accountRateLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) limiter.take('ca_busy');
    let refused: unknown;
    try {
      limiter.take('ca_busy');
    } catch (err) {
      refused = err;
    }
    expect(isAppError(refused) && refused.status).toBe(429);
    expect(isAppError(refused) && Number(refused.headers?.['retry-after'])).toBeGreaterThan(0);
    // Another account of the same project is not starved by the busy one.
    expect(() => limiter.take('ca_quiet')).not.toThrow();
  });

  it('a new window starts afresh', async () => {
    const limiter = accountRateLimiter(1, 50);
    limiter.take('ca_1');
    expect(() => limiter.take('ca_1')).toThrow();
    await new Promise((r) => setTimeout(r, 60));
    expect(() => limiter.take('ca_1')).not.toThrow();
  });
});
