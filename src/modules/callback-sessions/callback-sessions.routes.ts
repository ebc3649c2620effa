/** POST /connected_accounts/complete_auth: the app's server confirms a parked OAuth callback (contract §3.10). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../../app.js';
import { errorEnvelope } from '../../lib/schemas.js';
import { callerOf } from '../../plugins/auth.js';
import { CompleteAuthBody, CompleteAuthResponse } from './callback-sessions.schemas.js';

export const callbackSessionsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  app.post('/connected_accounts/complete_auth', {
    schema: {
      operationId: 'completeConnectedAccountAuth',
      summary: 'Confirm a verified OAuth callback',
      tags: ['Connected accounts'],
      description:
        'Verified callbacks (a project setting): after the OAuth consent, the browser was sent to the project\'s verifier with a single-use `session_uri` (10 minutes). ' +
        'The app\'s server redeems it here with the user it has signed in; the account becomes ACTIVE. A different user_id is a 400; an unknown, used or expired session a 404.',
      body: CompleteAuthBody,
      response: {
        200: CompleteAuthResponse,
        400: errorEnvelope.describe('user_id is not the user the connection was started for (the session stays usable).'),
        404: errorEnvelope.describe('Unknown, expired or already used session_uri.'),
      },
    },
    config: { rateLimit: limits.sensitive },
    handler: async (req) => services.callbackSessions.completeAuth(callerOf(req), req.body),
  });
};
