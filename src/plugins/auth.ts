/**
 * Project API-key authentication for the API scope. Exactly one credential mode per request:
 * `x-api-key` alone. A missing, malformed, unknown or revoked key, or several credential headers at
 * once, is a 401 in the error envelope. Registered on the API scope only (see app.ts), so health,
 * docs and the public OAuth/hosted pages are outside it by construction, not by URL matching.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../lib/errors.js';
import type { Caller, ProjectsService } from '../modules/projects/projects.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    /** A route that needs no API key (registered outside the API-key scope). */
    public?: boolean;
  }
}

/** Other credential modes a Composio client may send; any of them beside x-api-key is ambiguous. */
const OTHER_CREDENTIAL_HEADERS = ['x-user-api-key', 'x-org-api-key'] as const;

/** The authenticated caller of a request in the API scope. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new AppError('Auth_MissingApiKey', 'Missing API key');
  return request.caller;
}

async function authDecorator(app: FastifyInstance) {
  app.decorateRequest('caller', null);
}
export const authDecoratorPlugin = fp(authDecorator, { name: 'auth-decorator' });

/** Adds the API-key check to every route of the scope it is registered in. */
export function registerApiKeyAuth(scope: FastifyInstance, projects: Pick<ProjectsService, 'authenticate'>) {
  scope.addHook('onRequest', async (request) => {
    const raw = request.headers['x-api-key'];
    const others = OTHER_CREDENTIAL_HEADERS.filter((h) => request.headers[h] !== undefined);
    if (raw !== undefined && others.length > 0) {
      throw new AppError(
        'Auth_MultipleAuthModes',
        'Multiple authentication modes were provided. Provide exactly one of x-api-key, x-user-api-key or x-org-api-key',
      );
    }
    if (raw === undefined) {
      throw others.length
        ? new AppError('Auth_InvalidApiKey', 'Latchkey accepts project API keys only; send x-api-key')
        : new AppError('Auth_MissingApiKey', 'Missing API key', { suggestedFix: 'Send your project API key in the x-api-key header' });
    }
    if (Array.isArray(raw)) throw new AppError('Auth_MultipleAuthModes', 'Send exactly one x-api-key header');
    request.caller = await projects.authenticate(raw);
  });
}
