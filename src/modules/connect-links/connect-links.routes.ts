/** POST /connected_accounts/link (Composio's "create an auth link session"). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../../app.js';
import { callerOf } from '../../plugins/auth.js';
import { CreateLinkBody, CreateLinkResponse } from './connect-links.schemas.js';

export const connectLinksRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  app.post('/connected_accounts/link', {
    schema: {
      operationId: 'createConnectLink',
      summary: 'Create a Connect Link',
      tags: ['Connected accounts'],
      description:
        'Creates the account (INITIALIZING) and a single-use link to the hosted page where the end user enters credentials or runs OAuth.',
      body: CreateLinkBody,
      response: { 201: CreateLinkResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req, reply) => reply.code(201).send(await services.connectLinks.create(callerOf(req), req.body)),
  });
};
