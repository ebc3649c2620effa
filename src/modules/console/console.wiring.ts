/**
 * How the console is put together from configuration and the other modules' services: used by
 * buildApp (when CONSOLE_ENABLED) and by the CLI (`latchkey console-users`), so both make operators,
 * links and sessions the same way.
 */
import type pg from 'pg';
import type { Db } from '../../db/prisma.js';
import type { Config } from '../../lib/config.js';
import type { Crypto } from '../../lib/crypto.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthConfigsService } from '../auth-configs/auth-configs.service.js';
import type { ConnectLinksService } from '../connect-links/connect-links.service.js';
import type { ConnectedAccountsService } from '../connected-accounts/connected-accounts.service.js';
import { systemHealth } from '../health/system-health.js';
import type { ProjectsService } from '../projects/projects.service.js';
import { webhookHistoryRepository } from '../webhooks/webhook-history.repository.js';
import type { WebhooksService } from '../webhooks/webhooks.service.js';
import { consoleAuthService } from './console-auth.service.js';
import { consoleUsersRepository } from './console-users.repository.js';
import type { ConsoleOptions } from './console.routes.js';
import { consoleService } from './console.service.js';

export type ConsoleConfig = Pick<
  Config,
  'CONSOLE_SESSION_IDLE_MINUTES' | 'CONSOLE_SESSION_MAX_HOURS' | 'CONSOLE_SIGN_IN_ATTEMPTS' | 'CONSOLE_SIGN_IN_LINK_MINUTES' | 'publicUrl'
>;

export function consoleAuthFrom(deps: { db: Db; crypto: Crypto; config: ConsoleConfig }) {
  const c = deps.config;
  return consoleAuthService({
    repo: consoleUsersRepository(deps.db),
    crypto: deps.crypto,
    settings: {
      publicUrl: c.publicUrl,
      idleMs: c.CONSOLE_SESSION_IDLE_MINUTES * 60_000,
      maxMs: c.CONSOLE_SESSION_MAX_HOURS * 3_600_000,
      linkTtlMs: c.CONSOLE_SIGN_IN_LINK_MINUTES * 60_000,
    },
  });
}

export function consoleOptions(deps: {
  db: Db;
  pool: pg.Pool;
  crypto: Crypto;
  config: ConsoleConfig;
  services: {
    projects: ProjectsService;
    authConfigs: AuthConfigsService;
    connectedAccounts: ConnectedAccountsService;
    connectLinks: ConnectLinksService;
    webhooks: WebhooksService;
    audit: AuditService;
  };
  limits: { read: { max: number; timeWindow: number }; write: { max: number; timeWindow: number } };
}): ConsoleOptions {
  const history = webhookHistoryRepository(deps.db);
  return {
    auth: consoleAuthFrom(deps),
    console: consoleService({ ...deps.services, history, health: systemHealth({ pool: deps.pool, outbox: history }) }),
    secureCookies: deps.config.publicUrl.startsWith('https:'),
    limits: { ...deps.limits, signIn: { max: deps.config.CONSOLE_SIGN_IN_ATTEMPTS, timeWindow: 15 * 60_000 } },
  };
}
