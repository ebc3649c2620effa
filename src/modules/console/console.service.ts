/**
 * What the console's pages show and do, composed from the other modules' services (the console
 * writes no table of theirs). Every action runs as a caller of the project it names, with
 * credential values masked: the console never shows a stored secret. Keys, links and webhook
 * secrets made here are shown once, in the answer to the form that made them.
 */
import type { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import { AuditListQuery } from '../audit/audit.schemas.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthConfigsService } from '../auth-configs/auth-configs.service.js';
import { ListAuthConfigsQuery } from '../auth-configs/auth-configs.schemas.js';
import type { ConnectLinksService } from '../connect-links/connect-links.service.js';
import { ListAccountsQuery } from '../connected-accounts/connected-accounts.schemas.js';
import type { ConnectedAccountsService } from '../connected-accounts/connected-accounts.service.js';
import type { SystemHealth } from '../health/system-health.js';
import type { Caller, ProjectsService } from '../projects/projects.service.js';
import type { WebhookHistoryRepository } from '../webhooks/webhook-history.repository.js';
import type { WebhooksService } from '../webhooks/webhooks.service.js';
import { KeysetCursor, PAGE_SIZE, SeqCursor } from './console.schemas.js';

/** The operator acting, as the console knows them. */
export type Operator = { userId: string; email: string };

export type AccountFilters = { user?: string; toolkit?: string; status?: string; label?: string; cursor?: string };
/** The audit page's filters; times as a browser's datetime-local field sends them, read as UTC. */
export type AuditFilters = { object?: string; actor?: string; action?: string; from?: string; to?: string; cursor?: string };

const utc = (local: string | undefined) => (local ? (/(Z|[+-]\d\d:\d\d)$/.test(local) ? local : `${local.length === 16 ? `${local}:00` : local}Z`) : undefined);

/** A small list paged in memory (projects, a project's keys: tens of rows, not millions). */
function slicePage<T>(all: T[], page: number) {
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  const current = Math.min(Math.max(1, page), pages);
  return { items: all.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE), current, pages, total: all.length };
}

/** A filter value from a form: validated by the API's own schema, a 400 naming the field otherwise. */
function parsed<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new AppError('Request_ValidationError', `Invalid filter: ${errors.join('; ')}`, { errors });
}

export function consoleService(deps: {
  projects: Pick<ProjectsService, 'listProjects' | 'findProject' | 'createProject' | 'listKeys' | 'createKey' | 'revokeKey'>;
  authConfigs: Pick<AuthConfigsService, 'list' | 'setStatus'>;
  connectedAccounts: Pick<ConnectedAccountsService, 'list' | 'get' | 'setEnabled' | 'remove' | 'revoke'>;
  connectLinks: Pick<ConnectLinksService, 'create'>;
  webhooks: Pick<WebhooksService, 'list' | 'get' | 'rotateSecret' | 'redeliver'>;
  history: Pick<WebhookHistoryRepository, 'accountEvents' | 'deliveries'>;
  health: () => Promise<SystemHealth>;
  audit: Pick<AuditService, 'listAuditLogs'>;
}) {
  const caller = (projectId: string, op: Operator): Caller => ({ projectId, keyId: `console:${op.userId}`, maskCredentials: true });

  async function project(id: string) {
    const p = id.startsWith('proj_') ? await deps.projects.findProject(id) : null;
    if (!p) throw new AppError('Route_NotFound', `Project ${id} not found`);
    return p;
  }

  async function deliveriesPage(projectId: string, by: { subscriptionId?: string; accountId?: string }, cursor?: string) {
    const before = cursor ? decodeCursor(cursor, KeysetCursor) : undefined;
    const rows = await deps.history.deliveries(projectId, by, PAGE_SIZE + 1, before && { at: new Date(before.at), id: before.id });
    const items = rows.slice(0, PAGE_SIZE);
    const last = items[items.length - 1];
    return { items, next: rows.length > PAGE_SIZE && last ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id }) : null };
  }

  return {
    project,

    async projects(page: number) {
      return slicePage(await deps.projects.listProjects(), page);
    },
    createProject: (name: string) => deps.projects.createProject(name),

    async keys(projectId: string, page: number) {
      await project(projectId);
      return slicePage(await deps.projects.listKeys(projectId), page);
    },
    async createKey(projectId: string, name: string) {
      await project(projectId);
      return deps.projects.createKey(projectId, name);
    },
    revokeKey: (projectId: string, keyId: string) => deps.projects.revokeKey(projectId, keyId),

    async authConfigs(projectId: string, cursor?: string) {
      await project(projectId);
      return deps.authConfigs.list(projectId, parsed(ListAuthConfigsQuery, { show_disabled: 'true', limit: String(PAGE_SIZE), cursor }));
    },
    setAuthConfigStatus: (projectId: string, id: string, enabled: boolean) => deps.authConfigs.setStatus(projectId, id, enabled ? 'ENABLED' : 'DISABLED'),

    async accounts(projectId: string, op: Operator, f: AccountFilters) {
      await project(projectId);
      const q = parsed(ListAccountsQuery, {
        user_ids: f.user || undefined,
        toolkit_slugs: f.toolkit?.toLowerCase() || undefined,
        statuses: f.status || undefined,
        labels: f.label || undefined,
        account_type: 'ALL',
        limit: String(PAGE_SIZE),
        cursor: f.cursor || undefined,
      });
      return deps.connectedAccounts.list(caller(projectId, op), q);
    },

    /** An account with what happened to it: its events (status history), webhook deliveries, audit records. */
    async account(projectId: string, id: string, op: Operator, pages: { events?: string; deliveries?: string; audit?: string }) {
      await project(projectId);
      const account = await deps.connectedAccounts.get(caller(projectId, op), id);
      const before = pages.events ? BigInt(decodeCursor(pages.events, SeqCursor).seq) : undefined;
      const rows = await deps.history.accountEvents(projectId, id, PAGE_SIZE + 1, before);
      const events = rows.slice(0, PAGE_SIZE);
      const lastEvent = events[events.length - 1];
      const audit = await deps.audit.listAuditLogs(projectId, { object_id: id }, pages.audit || undefined, PAGE_SIZE);
      return {
        account,
        audit,
        events,
        nextEvents: rows.length > PAGE_SIZE && lastEvent ? encodeCursor({ seq: lastEvent.seq.toString() }) : null,
        deliveries: await deliveriesPage(projectId, { accountId: id }, pages.deliveries),
      };
    },
    setAccountEnabled: (projectId: string, id: string, op: Operator, enabled: boolean) => deps.connectedAccounts.setEnabled(caller(projectId, op), id, enabled),
    deleteAccount: (projectId: string, id: string, op: Operator) => deps.connectedAccounts.remove(caller(projectId, op), id),
    revokeAccount: (projectId: string, id: string, op: Operator) => deps.connectedAccounts.revoke(caller(projectId, op), id),

    /**
     * A Connect Link for the account's user and auth config: the user completes it on the hosted
     * page, which makes a new account (the old one keeps its history until it is deleted).
     */
    async reconnectLink(projectId: string, id: string, op: Operator) {
      const account = await deps.connectedAccounts.get(caller(projectId, op), id);
      return deps.connectLinks.create(caller(projectId, op), { auth_config_id: account.auth_config.id, user_id: account.user_id });
    },

    async webhooks(projectId: string, cursor?: string) {
      await project(projectId);
      return deps.webhooks.list(projectId, { limit: PAGE_SIZE, cursor });
    },
    async webhook(projectId: string, id: string, cursor?: string) {
      const subscription = await deps.webhooks.get(projectId, id);
      return { subscription, deliveries: await deliveriesPage(projectId, { subscriptionId: id }, cursor) };
    },
    rotateWebhookSecret: (projectId: string, id: string) => deps.webhooks.rotateSecret(projectId, id),
    redeliver: (projectId: string, id: string, deliveryId: string) => deps.webhooks.redeliver(projectId, id, deliveryId),

    /** A project's audit records, newest first, filtered as the API filters them. */
    async auditLog(projectId: string, f: AuditFilters) {
      await project(projectId);
      const q = parsed(AuditListQuery, {
        object_id: f.object || undefined,
        actor: f.actor || undefined,
        action: f.action || undefined,
        from: utc(f.from),
        to: utc(f.to),
        limit: String(PAGE_SIZE),
        cursor: f.cursor || undefined,
      });
      return deps.audit.listAuditLogs(projectId, q, q.cursor, q.limit);
    },

    health: () => deps.health(),
  };
}
export type ConsoleService = ReturnType<typeof consoleService>;
