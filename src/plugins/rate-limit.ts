/**
 * Rate limiting per API key (per client address before authentication), with x-ratelimit-* headers.
 * Routes pick a preset through `config.rateLimit`; the defaults come from configuration.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../lib/errors.js';

export type RateLimitOptions = { max: number; windowMs: number };

/** Presets routes refer to. `write` and `sensitive` are fractions of the configured maximum. */
export function rateLimitPresets(o: RateLimitOptions) {
  return {
    read: { max: o.max, timeWindow: o.windowMs },
    write: { max: Math.max(1, Math.floor(o.max / 2)), timeWindow: o.windowMs },
    sensitive: { max: Math.max(1, Math.floor(o.max / 20)), timeWindow: o.windowMs },
  } as const;
}

async function rateLimitPlugin(app: FastifyInstance, o: RateLimitOptions) {
  await app.register(rateLimit, {
    global: true,
    max: o.max,
    timeWindow: o.windowMs,
    // After authentication (onRequest), before validation: the key, not the address, is limited.
    hook: 'preValidation',
    keyGenerator: (req) => (req.caller ? `key:${req.caller.keyId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new AppError('RateLimit_Exceeded', `Rate limit exceeded: ${ctx.max} requests per ${ctx.after}`, {
        suggestedFix: `Retry after ${ctx.after}`,
      }),
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['auth-decorator'] });
