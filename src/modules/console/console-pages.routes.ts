/**
 * The console's pages once signed in (registered inside the session scope of console.routes.ts).
 * Each handler reads its validated input, makes one call to the console service, and renders.
 * A POST that changes something redirects to the page that shows it (303); one whose answer holds
 * a value shown once (a new key, a link, a secret) renders that page itself, so the value never
 * lands in a URL or the browser history.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actingAs, operator } from '../audit/audit-context.js';
import { sendPage } from './console-http.js';
import { AccountQuery, AccountsQuery, AuditQuery, CsrfForm, CursorQuery, WebhookQuery, DeliveryParams, ItemParams, NameForm, PageQuery, ProjectParams } from './console.schemas.js';
import type { ConsoleService, Operator } from './console.service.js';
import { accountPage, accountsPage } from './views/accounts.js';
import { auditPage } from './views/audit.js';
import { keysPage, projectsPage } from './views/projects.js';
import { authConfigsPage, webhookPage, webhooksPage } from './views/settings.js';
import { healthPage } from './views/system.js';

type Limit = { max: number; timeWindow: number };

/** The operator, as the service and the views need them. */
function who(req: FastifyRequest) {
  const id = req.consoleIdentity!;
  return { operator: { userId: id.userId, email: id.email } satisfies Operator, view: { email: id.email, csrf: id.csrf } };
}

const DONE = {
  disable: 'The account is disabled: apps cannot use it until it is enabled again.',
  enable: 'The account is enabled.',
  revoke: 'The account’s tokens were revoked at the provider.',
  retry: 'The delivery was queued again with the same webhook-id.',
} as const;

export const consolePagesRoutes: FastifyPluginAsyncZod<{ console: ConsoleService; limits: { read: Limit; write: Limit } }> = async (app, { console: c, limits }) => {
  const read = { rateLimit: limits.read };
  const write = { rateLimit: limits.write };

  // Whatever the services record while a console page acts names the operator, not an API key.
  app.addHook('preHandler', (req, _reply, done) => {
    actingAs({ actor: operator(req.consoleIdentity!.email), requestId: req.id }, done);
  });

  app.get('/', { config: read, schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/projects', 303));

  // ---- projects and API keys -----------------------------------------------------------------
  app.get('/projects', { config: read, schema: { hide: true, querystring: PageQuery } }, async (req, reply) =>
    sendPage(reply, 200, projectsPage(who(req).view, await c.projects(req.query.page))),
  );
  app.post('/projects', { config: write, schema: { hide: true, body: NameForm } }, async (req, reply) => {
    const created = await c.createProject(req.body.name);
    return sendPage(reply, 201, projectsPage(who(req).view, await c.projects(1), created));
  });
  app.get('/projects/:projectId', { config: read, schema: { hide: true, params: ProjectParams } }, async (req, reply) =>
    reply.redirect(`/console/projects/${(await c.project(req.params.projectId)).id}/accounts`, 303),
  );
  app.get('/projects/:projectId/keys', { config: read, schema: { hide: true, params: ProjectParams, querystring: PageQuery } }, async (req, reply) =>
    sendPage(reply, 200, keysPage(who(req).view, await c.project(req.params.projectId), await c.keys(req.params.projectId, req.query.page))),
  );
  app.post('/projects/:projectId/keys', { config: write, schema: { hide: true, params: ProjectParams, body: NameForm } }, async (req, reply) => {
    const created = await c.createKey(req.params.projectId, req.body.name);
    return sendPage(reply, 201, keysPage(who(req).view, await c.project(req.params.projectId), await c.keys(req.params.projectId, 1), created));
  });
  app.post('/projects/:projectId/keys/:id/revoke', { config: write, schema: { hide: true, params: ItemParams, body: CsrfForm } }, async (req, reply) => {
    await c.revokeKey(req.params.projectId, req.params.id);
    return reply.redirect(`/console/projects/${req.params.projectId}/keys`, 303);
  });

  // ---- auth configs --------------------------------------------------------------------------
  app.get('/projects/:projectId/auth-configs', { config: read, schema: { hide: true, params: ProjectParams, querystring: CursorQuery } }, async (req, reply) =>
    sendPage(reply, 200, authConfigsPage(who(req).view, await c.project(req.params.projectId), await c.authConfigs(req.params.projectId, req.query.cursor))),
  );
  for (const action of ['enable', 'disable'] as const) {
    app.post(`/projects/:projectId/auth-configs/:id/${action}`, { config: write, schema: { hide: true, params: ItemParams, body: CsrfForm } }, async (req, reply) => {
      await c.setAuthConfigStatus(req.params.projectId, req.params.id, action === 'enable');
      return reply.redirect(`/console/projects/${req.params.projectId}/auth-configs`, 303);
    });
  }

  // ---- connected accounts --------------------------------------------------------------------
  app.get('/projects/:projectId/accounts', { config: read, schema: { hide: true, params: ProjectParams, querystring: AccountsQuery } }, async (req, reply) => {
    const { operator, view } = who(req);
    const project = await c.project(req.params.projectId);
    return sendPage(reply, 200, accountsPage(view, project, req.query, await c.accounts(project.id, operator, req.query)));
  });
  const accountDetail = async (req: FastifyRequest, params: { projectId: string; id: string }, pages: { events?: string; deliveries?: string; audit?: string }) => {
    const project = await c.project(params.projectId);
    return { project, detail: await c.account(project.id, params.id, who(req).operator, pages) };
  };
  app.get('/projects/:projectId/accounts/:id', { config: read, schema: { hide: true, params: ItemParams, querystring: AccountQuery } }, async (req, reply) => {
    const { project, detail } = await accountDetail(req, req.params, req.query);
    return sendPage(reply, 200, accountPage(who(req).view, project, detail, { done: req.query.done && DONE[req.query.done] }));
  });
  for (const action of ['disable', 'enable', 'revoke'] as const) {
    app.post(`/projects/:projectId/accounts/:id/${action}`, { config: write, schema: { hide: true, params: ItemParams, body: CsrfForm } }, async (req, reply) => {
      const { projectId, id } = req.params;
      const op = who(req).operator;
      if (action === 'revoke') await c.revokeAccount(projectId, id, op);
      else await c.setAccountEnabled(projectId, id, op, action === 'enable');
      return reply.redirect(`/console/projects/${projectId}/accounts/${id}?done=${action}`, 303);
    });
  }
  app.post('/projects/:projectId/accounts/:id/delete', { config: write, schema: { hide: true, params: ItemParams, body: CsrfForm } }, async (req, reply) => {
    await c.deleteAccount(req.params.projectId, req.params.id, who(req).operator);
    return reply.redirect(`/console/projects/${req.params.projectId}/accounts?deleted=${req.params.id}`, 303);
  });
  app.post('/projects/:projectId/accounts/:id/reconnect', { config: write, schema: { hide: true, params: ItemParams, body: CsrfForm } }, async (req, reply) => {
    const link = await c.reconnectLink(req.params.projectId, req.params.id, who(req).operator);
    const { project, detail } = await accountDetail(req, req.params, {});
    return sendPage(reply, 201, accountPage(who(req).view, project, detail, { link }));
  });

  // ---- webhooks ------------------------------------------------------------------------------
  app.get('/projects/:projectId/webhooks', { config: read, schema: { hide: true, params: ProjectParams, querystring: CursorQuery } }, async (req, reply) =>
    sendPage(reply, 200, webhooksPage(who(req).view, await c.project(req.params.projectId), await c.webhooks(req.params.projectId, req.query.cursor))),
  );
  const webhookDetail = async (params: { projectId: string; id: string }, cursor?: string) => {
    const project = await c.project(params.projectId);
    return { project, detail: await c.webhook(project.id, params.id, cursor) };
  };
  app.get('/projects/:projectId/webhooks/:id', { config: read, schema: { hide: true, params: ItemParams, querystring: WebhookQuery } }, async (req, reply) => {
    const { project, detail } = await webhookDetail(req.params, req.query.cursor);
    const done = req.query.done === 'retry' ? DONE.retry : undefined;
    return sendPage(reply, 200, webhookPage(who(req).view, project, detail, { done }));
  });
  app.post('/projects/:projectId/webhooks/:id/rotate-secret', { config: write, schema: { hide: true, params: ItemParams, body: CsrfForm } }, async (req, reply) => {
    const secret = await c.rotateWebhookSecret(req.params.projectId, req.params.id);
    const { project, detail } = await webhookDetail(req.params);
    return sendPage(reply, 200, webhookPage(who(req).view, project, detail, { secret }));
  });
  app.post('/projects/:projectId/webhooks/:id/deliveries/:deliveryId/retry', { config: write, schema: { hide: true, params: DeliveryParams, body: CsrfForm } }, async (req, reply) => {
    await c.redeliver(req.params.projectId, req.params.id, req.params.deliveryId);
    return reply.redirect(`/console/projects/${req.params.projectId}/webhooks/${req.params.id}?done=retry`, 303);
  });

  // ---- the audit log ------------------------------------------------------------------------
  app.get('/projects/:projectId/audit', { config: read, schema: { hide: true, params: ProjectParams, querystring: AuditQuery } }, async (req, reply) => {
    const project = await c.project(req.params.projectId);
    return sendPage(reply, 200, auditPage(who(req).view, project, req.query, await c.auditLog(project.id, req.query)));
  });

  // ---- the system --------------------------------------------------------------------------
  app.get('/health', { config: read, schema: { hide: true } }, async (req, reply) => sendPage(reply, 200, healthPage(who(req).view, await c.health())));
};
