/**
 * Calls per connected account in a fixed window, per process: one busy end user cannot use up the
 * project's whole API-key quota. Like the API-key limit, it is per replica.
 */
import { AppError } from '../../lib/errors.js';

export function accountRateLimiter(max: number, windowMs: number) {
  const windows = new Map<string, { n: number; resetAt: number }>();
  return {
    take(accountId: string) {
      const now = Date.now();
      let w = windows.get(accountId);
      if (!w || w.resetAt <= now) {
        if (windows.size > 100_000) for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
        w = { n: 0, resetAt: now + windowMs };
        windows.set(accountId, w);
      }
      if (++w.n > max) {
        const after = Math.max(1, Math.ceil((w.resetAt - now) / 1000));
        throw new AppError('RateLimit_Exceeded', `Rate limit exceeded for this connected account: ${max} proxied calls per ${windowMs / 1000} seconds`, {
          suggestedFix: `Retry after ${after} seconds`,
          headers: { 'retry-after': String(after) },
        });
      }
    },
  };
}
