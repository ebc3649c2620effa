/**
 * GET /api/v3/toolkits/auth/callback (and under /api/v3.1): where providers send the browser back.
 * Public: the single-use state is the credential. It never answers with a secret, and `code` and
 * `state` are redacted from request logs.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../../app.js';
import { CallbackError } from './oauth.service.js';
import { PAGE_CSP, page } from './pages.js';

const CallbackQuery = z
  .object({
    code: z.string().max(4096).optional(),
    state: z.string().max(512).optional(),
    error: z.string().max(200).optional(),
    error_description: z.string().max(2000).optional(),
  })
  .catchall(z.string().max(4096));

/** Appends the outcome to the app's callback URL, keeping its own query. */
export function outcomeUrl(callbackUrl: string, accountId: string, status: string, ok: boolean) {
  const u = new URL(callbackUrl);
  u.searchParams.set('status', ok ? 'success' : 'failed');
  u.searchParams.set('connected_account_id', accountId);
  // Older names, as Composio's v1 documentation has them.
  u.searchParams.set('connection_status', status);
  u.searchParams.set('connectedAccountId', accountId);
  return u.href;
}

export const oauthRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  const toolkitName = async (projectId: string, slug: string) =>
    (await services.toolkits.resolve(projectId, slug).catch(() => undefined))?.definition.name ?? slug;
  app.get('/toolkits/auth/callback', {
    schema: {
      operationId: 'oauthCallback',
      summary: 'OAuth2 redirect target',
      tags: ['OAuth'],
      description:
        'Where the provider sends the browser after consent (OAuth2, OAuth 1.0a, MCP servers by URL). Public; register this URL with your OAuth app. ' +
        'With verified callbacks on, the browser goes on to the project\'s verifier with a single-use session_uri (see complete_auth).',
      security: [],
      querystring: CallbackQuery,
    },
    config: { rateLimit: limits.sensitive, public: true },
    handler: async (req, reply) => {
      void reply.header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      try {
        const { account, ok, callbackUrl, verify } = await services.oauth.complete(req.query as Record<string, string | undefined>);
        // Verified callbacks: the app confirms the user first (complete_auth).
        if (verify) return reply.redirect(verify, 302);
        if (callbackUrl) return reply.redirect(outcomeUrl(callbackUrl, account.id, account.status, ok), 302);
        return reply
          .code(ok ? 200 : 400)
          .type('text/html; charset=utf-8')
          .send(
            page(
              ok
                ? { ok, title: 'Connected', message: `Your ${await toolkitName(account.projectId, account.toolkitSlug)} account is connected. You can close this window.` }
                : { ok, title: 'Connection failed', message: account.statusReason ?? 'The connection could not be completed.' },
            ),
          );
      } catch (err) {
        if (!(err instanceof CallbackError)) throw err;
        return reply.code(400).type('text/html; charset=utf-8').send(page({ ok: false, title: 'Connection failed', message: err.userMessage }));
      }
    },
  });
};
