/**
 * GET /metrics in Prometheus' text format, registered only when METRICS_ENABLED. With METRICS_TOKEN
 * it needs `Authorization: Bearer <token>` (compared in constant time); a missing or wrong token is
 * a 401 in the error envelope. Outside the API scope: no project API key opens it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../lib/errors.js';
import type { Metrics } from './metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export const metricsRoutes: FastifyPluginAsync<{ metrics: Metrics; token?: string; rateLimit: object }> = async (app, { metrics, token, rateLimit }) => {
  const expected = token ? digest(`Bearer ${token}`) : undefined;
  app.get('/metrics', {
    schema: { hide: true },
    config: { rateLimit },
    handler: async (req, reply) => {
      if (expected) {
        const given = req.headers.authorization;
        if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
          throw new AppError('Metrics_Unauthorized', 'Metrics need the metrics token', { suggestedFix: 'Send Authorization: Bearer <METRICS_TOKEN>' });
        }
      }
      return reply.type(metrics.contentType).send(await metrics.render());
    },
  });
};
