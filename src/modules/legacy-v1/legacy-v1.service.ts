/**
 * The older Composio API as a thin adapter: every call goes to the services behind /api/v3.1
 * (toolkits, auth configs, connected accounts), so rules, storage and tenancy are theirs, and a change
 * made through one API is visible through the other at once. What is left here is choosing which
 * service call a legacy request means, and paging (old clients count pages; the services use keyset
 * cursors, walked here, never OFFSET).
 */
import { AppError } from '../../lib/errors.js';
import type { AuthConfigsService } from '../auth-configs/auth-configs.service.js';
import type { CreateAuthConfigBody } from '../auth-configs/auth-configs.schemas.js';
import type { ConnectedAccountsService } from '../connected-accounts/connected-accounts.service.js';
import type { AccountObject, CreateAccountBody } from '../connected-accounts/connected-accounts.schemas.js';
import type { Caller } from '../projects/projects.service.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import type {
  CreateConnectionBody,
  CreateIntegrationBody,
  InitiateConnectionBody,
  ListAccountsQuery,
  ListIntegrationsQuery,
} from './legacy-v1.schemas.js';
import { type AuthParams, STATUSES_FOR, account, appDetail, appSummary, connectionStarted, integration } from './legacy-v1.translate.js';

/** An entity the client did not name. */
const DEFAULT_ENTITY = 'default';

type Page<T> = { items: T[]; next_cursor: string | null; total_items: number };

/**
 * Page `page` (1-based) of `pageSize` items from a keyset-paged list: the items before it are
 * skipped in chunks of at most `chunk` by following cursors.
 */
async function pageOf<T>(fetch: (limit: number, cursor?: string) => Promise<Page<T>>, page: number, pageSize: number, chunk: number) {
  let skip = (page - 1) * pageSize;
  let cursor: string | undefined;
  let total = 0;
  while (skip > 0) {
    const part = await fetch(Math.min(chunk, skip), cursor);
    total = part.total_items;
    if (!part.next_cursor) return { items: [] as T[], total };
    cursor = part.next_cursor;
    skip -= part.items.length;
  }
  const items: T[] = [];
  let last: Page<T> | undefined;
  // A page larger than one service call allows takes several.
  while (items.length < pageSize) {
    last = await fetch(Math.min(chunk, pageSize - items.length), cursor);
    total = last.total_items;
    items.push(...last.items);
    if (!last.next_cursor) break;
    cursor = last.next_cursor;
  }
  return { items, total };
}

const totalPages = (total: number, pageSize: number) => Math.max(1, Math.ceil(total / pageSize));

export function legacyV1Service(deps: {
  toolkits: Pick<ToolkitsService, 'resolve' | 'definitions' | 'detail'>;
  authConfigs: Pick<AuthConfigsService, 'get' | 'list' | 'create'>;
  connectedAccounts: Pick<ConnectedAccountsService, 'create' | 'get' | 'list' | 'authParams'>;
}) {
  const { toolkits, authConfigs, connectedAccounts: accounts } = deps;

  async function schemeOf(projectId: string, slug: string, mode: string) {
    const t = await toolkits.resolve(projectId, slug).catch(() => undefined);
    return t?.definition.auth_schemes.find((s) => s.mode === mode);
  }

  async function getIntegration(projectId: string, id: string) {
    const c = await authConfigs.get(projectId, id);
    return integration(c, await schemeOf(projectId, c.toolkit.slug, c.auth_scheme));
  }

  /** Auth params of an ACTIVE account (for `connectionParams`); none for the others. */
  async function authOf(caller: Caller, a: AccountObject): Promise<AuthParams | undefined> {
    if (a.status !== 'ACTIVE') return undefined;
    // An account whose toolkit is gone, or that changed meanwhile, is still listed: without auth params.
    return accounts.authParams(caller, a.id).catch((err: unknown) => {
      if (err instanceof AppError && err.status < 500) return undefined;
      throw err;
    });
  }

  /** The project's integration for an app, or one made from `config` when it has none. */
  async function integrationForApp(projectId: string, slug: string, config: InitiateConnectionBody['config']) {
    const existing = await authConfigs.list(projectId, { toolkit_slug: [slug], show_disabled: false, limit: 200 });
    const usable = existing.items.find((c) => !config?.authScheme || c.auth_scheme === config.authScheme);
    if (usable) return usable.id;
    if (!config?.authScheme && !config?.useComposioAuth) {
      throw new AppError('AuthConfig_ResourceNotFound', `No integration for app ${slug} in this project`, {
        suggestedFix: 'Create one first (POST /api/v2/integrations/create), or pass integrationId',
      });
    }
    return createIntegration(projectId, { app: { uniqueKey: slug }, config });
  }

  async function createIntegration(projectId: string, body: CreateIntegrationBody) {
    const { config } = body;
    const credentials = config.integrationSecrets ?? undefined;
    let authConfig: NonNullable<CreateAuthConfigBody['auth_config']>;
    if (config.useComposioAuth) {
      authConfig = { type: 'use_composio_managed_auth', name: config.name, credentials };
    } else {
      if (!config.authScheme) throw new AppError('AuthConfig_InvalidRequest', 'config.authScheme is required unless useComposioAuth is true');
      authConfig = { type: 'use_custom_auth', authScheme: config.authScheme, name: config.name, credentials: credentials ?? {} };
    }
    const created = await authConfigs.create(projectId, { toolkit: { slug: body.app.uniqueKey }, auth_config: authConfig });
    return created.auth_config.id;
  }

  /** One connection start for both old shapes. */
  async function start(
    caller: Caller,
    o: { integrationId: string; entityId: string | null | undefined; data: CreateAccountBody['connection']['data'] & object; redirectUrl: string | null | undefined; labels: string[] | undefined },
  ) {
    const callback = o.redirectUrl || undefined;
    const connection = { user_id: o.entityId ?? DEFAULT_ENTITY, data: o.data, ...(callback ? { callback_url: callback } : {}), ...(o.labels ? { labels: o.labels } : {}) };
    return accounts.create(caller, { auth_config: { id: o.integrationId }, connection });
  }

  return {
    async listApps(projectId: string) {
      // The whole catalogue in one page, as the old API served it: built-in entries and the project's own.
      const items = (await toolkits.definitions(projectId)).map(appSummary);
      return { items, totalPages: 1 };
    },

    async getApp(projectId: string, key: string) {
      const t = await toolkits.resolve(projectId, key);
      return appDetail(t.definition, toolkits.detail(t).composio_managed_auth_schemes);
    },

    async listIntegrations(projectId: string, q: ListIntegrationsQuery) {
      const filters = { toolkit_slug: q.appName ? [q.appName] : undefined, show_disabled: q.showDisabled ?? false };
      const { items, total } = await pageOf((limit, cursor) => authConfigs.list(projectId, { ...filters, limit, cursor }), q.page, q.pageSize, 200);
      const out = [];
      for (const c of items) out.push(integration(c, await schemeOf(projectId, c.toolkit.slug, c.auth_scheme)));
      return { items: out, totalPages: totalPages(total, q.pageSize), page: q.page };
    },

    getIntegration,

    async createIntegration(projectId: string, body: CreateIntegrationBody) {
      return { integrationId: await createIntegration(projectId, body) };
    },

    async initiateConnection(caller: Caller, body: InitiateConnectionBody) {
      const { app, config, connection } = body;
      let integrationId = app.integrationId;
      if (!integrationId) {
        if (!app.uniqueKey) throw new AppError('Request_ValidationError', 'app.integrationId or app.uniqueKey is required');
        integrationId = await integrationForApp(caller.projectId, app.uniqueKey, config);
      }
      const started = await start(caller, {
        integrationId,
        entityId: connection?.entityId,
        data: connection?.initiateData ?? {},
        redirectUrl: connection?.extra?.redirectURL,
        labels: connection?.extra?.labels ?? undefined,
      });
      return { connectionResponse: connectionStarted(started), integrationId };
    },

    async createConnection(caller: Caller, body: CreateConnectionBody) {
      const started = await start(caller, {
        integrationId: body.integrationId,
        entityId: body.entityId ?? body.userUuid,
        data: body.data ?? {},
        redirectUrl: body.redirectUri,
        labels: body.labels ?? undefined,
      });
      return { ...connectionStarted(started), integrationId: body.integrationId };
    },

    async listAccounts(caller: Caller, q: ListAccountsQuery) {
      const entity = q.user_uuid ?? q.entityId;
      let statuses = q.status?.flatMap((s) => STATUSES_FOR[s]);
      if (q.showActiveOnly) statuses = (statuses ?? ['ACTIVE']).filter((s) => s === 'ACTIVE');
      if (q.showDisabled === false) statuses = (statuses ?? ['INITIALIZING', 'INITIATED', 'ACTIVE', 'FAILED', 'EXPIRED', 'REVOKED']).filter((s) => s !== 'INACTIVE');
      if (statuses && !statuses.length) return { items: [], totalPages: 1, page: q.page };
      const filters = {
        user_ids: entity ? [entity] : undefined,
        toolkit_slugs: q.appNames,
        auth_config_ids: q.integrationId ? [q.integrationId] : undefined,
        connected_account_ids: q.connectionId ? [q.connectionId] : undefined,
        statuses,
        order_by: 'created_at' as const,
        order_direction: 'desc' as const,
        account_type: 'ALL' as const,
        labels: q.labels,
      };
      const { items, total } = await pageOf((limit, cursor) => accounts.list(caller, { ...filters, limit, cursor }), q.page, q.pageSize, 1000);
      const out = [];
      for (const a of items) out.push(account(a, await authOf(caller, a)));
      return { items: out, totalPages: totalPages(total, q.pageSize), page: q.page };
    },

    async getAccount(caller: Caller, id: string) {
      const a = await accounts.get(caller, id);
      return account(a, await authOf(caller, a));
    },

    authInfo: (caller: Caller, id: string) => accounts.authParams(caller, id),
  };
}
export type LegacyV1Service = ReturnType<typeof legacyV1Service>;
