/** Liveness and readiness. Public: no API key. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { databaseUnavailable } from '../../db/errors.js';
import type { Db } from '../../db/prisma.js';

export const healthRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/healthz', {
    schema: { operationId: 'healthz', summary: 'Liveness', tags: ['Operations'], security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
    config: { rateLimit: false },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    schema: {
      operationId: 'readyz',
      summary: 'Readiness (the database answers)',
      tags: ['Operations'],
      security: [],
      response: { 200: z.object({ status: z.literal('ready'), database: z.literal('ok') }) },
    },
    config: { rateLimit: false },
    handler: async () => {
      try {
        await db.$queryRaw`SELECT 1`;
      } catch {
        throw databaseUnavailable(); // 503 with retry-after; /healthz stays 200 meanwhile
      }
      return { status: 'ready' as const, database: 'ok' as const };
    },
  });
};
