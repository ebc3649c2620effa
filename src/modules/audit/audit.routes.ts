/** GET /audit_logs: the project's audit records, newest first. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { rateLimitPresets } from '../../plugins/rate-limit.js';
import { callerOf } from '../../plugins/auth.js';
import type { AuditService } from './audit.service.js';
import { AuditList, AuditListQuery } from './audit.schemas.js';

export const auditRoutes: FastifyPluginAsyncZod<{ audit: Pick<AuditService, 'listAuditLogs'>; limits: ReturnType<typeof rateLimitPresets> }> = async (app, { audit, limits }) => {
  app.get('/audit_logs', {
    schema: {
      operationId: 'listAuditLogs',
      summary: 'List audit records',
      tags: ['Audit'],
      description:
        "Latchkey extension. The project's audit records, newest first: every administrative change and every read that returned a secret, " +
        'with actor, request id, object, action and outcome (never the secret). Filters combine; pages are keyset cursors.',
      querystring: AuditListQuery,
      response: { 200: AuditList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => audit.listAuditLogs(callerOf(req).projectId, req.query, req.query.cursor, req.query.limit),
  });
};
