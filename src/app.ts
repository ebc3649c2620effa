/**
 * buildApp(deps): the one place Latchkey is wired together, used by the server, the CLI-less tests
 * and the benchmark alike. Nothing here reads the environment or opens connections: callers pass
 * the configuration, the database client and the crypto module in.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { pino } from 'pino';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type pg from 'pg';
import type { Db } from './db/prisma.js';
import { type Config, withDefaults } from './lib/config.js';
import type { Crypto } from './lib/crypto.js';
import { loggerOptions } from './lib/logger.js';
import { authDecoratorPlugin, registerApiKeyAuth } from './plugins/auth.js';
import { clientErrorHandler } from './plugins/client-errors.js';
import errorHandler, { envelope } from './plugins/error-handler.js';
import { AppError } from './lib/errors.js';
import { storable, withFastPath } from './lib/schemas.js';
import openapi from './plugins/openapi.js';
import rateLimit, { rateLimitPresets } from './plugins/rate-limit.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { projectsRepository } from './modules/projects/projects.repository.js';
import { projectsService } from './modules/projects/projects.service.js';
import { builtInCatalogue } from './modules/toolkits/catalogue.js';
import type { ToolkitDefinition } from './modules/toolkits/toolkit-definition.js';
import { toolkitsRepository } from './modules/toolkits/toolkits.repository.js';
import { toolkitsRoutes } from './modules/toolkits/toolkits.routes.js';
import { toolkitsService } from './modules/toolkits/toolkits.service.js';
import { authConfigsRepository } from './modules/auth-configs/auth-configs.repository.js';
import { authConfigsRoutes } from './modules/auth-configs/auth-configs.routes.js';
import { authConfigsService, managedSchemesOf } from './modules/auth-configs/auth-configs.service.js';
import { accountStore } from './modules/connected-accounts/account-store.js';
import { connectedAccountsRepository } from './modules/connected-accounts/connected-accounts.repository.js';
import { connectedAccountsRoutes } from './modules/connected-accounts/connected-accounts.routes.js';
import { connectedAccountsService } from './modules/connected-accounts/connected-accounts.service.js';
import { oauthRepository } from './modules/oauth/oauth.repository.js';
import { connectLinksRepository } from './modules/connect-links/connect-links.repository.js';
import { connectLinksRoutes } from './modules/connect-links/connect-links.routes.js';
import { connectLinksService } from './modules/connect-links/connect-links.service.js';
import { parseFrameAncestors } from './modules/connect-links/hosted-page.policy.js';
import { hostedPageRoutes } from './modules/connect-links/hosted-page.routes.js';
import { createEgress, type EgressRequestInit, type Resolver } from './modules/egress/egress.js';
import { mintedTokens } from './modules/connected-accounts/minted-tokens.js';
import { webhookDispatcher } from './modules/webhooks/dispatcher.js';
import { webhooksRepository } from './modules/webhooks/webhooks.repository.js';
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.js';
import { webhooksService } from './modules/webhooks/webhooks.service.js';
import { oauthRoutes } from './modules/oauth/oauth.routes.js';
import { CALLBACK_PATH, oauthService } from './modules/oauth/oauth.service.js';
import { guardedHttp } from './modules/oauth/redirect-strategy.js';
import { oauth1Strategy } from './modules/oauth/oauth1-strategy.js';
import { mcpStrategy } from './modules/oauth/mcp-strategy.js';
import { registeredClientsRepository } from './modules/oauth/registered-clients.repository.js';
import { clientMetadataRoutes } from './modules/oauth/client-metadata.routes.js';
import { callbackSessionsRepository } from './modules/callback-sessions/callback-sessions.repository.js';
import { callbackSessionsRoutes } from './modules/callback-sessions/callback-sessions.routes.js';
import { callbackSessionsService } from './modules/callback-sessions/callback-sessions.service.js';
import type { AuthConfigRow } from './modules/auth-configs/auth-configs.repository.js';
import { legacyV1Routes } from './modules/legacy-v1/legacy-v1.routes.js';
import { legacyV1Service } from './modules/legacy-v1/legacy-v1.service.js';
import { proxyRepository } from './modules/proxy/proxy.repository.js';
import { proxyRoutes } from './modules/proxy/proxy.routes.js';
import { proxyService } from './modules/proxy/proxy.service.js';
import { actingAs } from './modules/audit/audit-context.js';
import { auditBuffer } from './modules/audit/audit-buffer.js';
import { auditRepository } from './modules/audit/audit.repository.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { auditService } from './modules/audit/audit.service.js';
import type { Metrics } from './modules/metrics/metrics.js';

export const API_PREFIXES = ['/api/v3.1', '/api/v3'] as const;
export const VERSION = '0.1.0';

/** What callers pass; a setting left out takes the config schema's default (withDefaults). */
export type AppConfig = Pick<
  Config,
  'LOG_LEVEL' | 'BODY_LIMIT_BYTES' | 'TRUST_PROXY' | 'RATE_LIMIT_MAX' | 'RATE_LIMIT_WINDOW_MS' | 'API_KEY_CACHE_MS' | 'publicUrl'
> &
  Partial<
    Pick<
      Config,
      | 'managedAuth'
      | 'OAUTH_ALLOW_INSECURE_LOOPBACK'
      | 'OAUTH_TIMEOUT_SECONDS'
      | 'OAUTH_REFRESH_MARGIN_MS'
      | 'LINK_FRAME_ANCESTORS'
      | 'LINK_ALLOW_REMOTE_LOGOS'
      | 'EGRESS_ALLOW_PRIVATE_ADDRESSES'
      | 'WEBHOOKS_ALLOW_PRIVATE_URLS'
      | 'WEBHOOK_TIMEOUT_MS'
      | 'WEBHOOK_DISABLE_AFTER_FAILURES'
      | 'WEBHOOK_SECRET_GRACE_MS'
      | 'PROXY_TIMEOUT_MS'
      | 'PROXY_MAX_REQUEST_BYTES'
      | 'PROXY_MAX_RESPONSE_BYTES'
      | 'PROXY_ACCOUNT_RATE_LIMIT'
      | 'PROXY_FILE_TTL_SECONDS'
      | 'PROXY_CALL_RETENTION_DAYS'
      | 'CONSOLE_ENABLED'
      | 'CONSOLE_SESSION_IDLE_MINUTES'
      | 'CONSOLE_SESSION_MAX_HOURS'
      | 'CONSOLE_SIGN_IN_ATTEMPTS'
      | 'CONSOLE_SIGN_IN_LINK_MINUTES'
      | 'AUDIT_RETENTION_DAYS'
      | 'AUDIT_FLUSH_MS'
      | 'METRICS_ENABLED'
      | 'METRICS_TOKEN'
    >
  > & {
    /** How long an OAuth redirect may take (10 minutes; tests shorten it). */
    oauthAttemptTtlMs?: number;
  };

export type AppDeps = {
  config: AppConfig;
  db: Db;
  /** The pool under `db`, for hand-written hot-path queries. */
  pool: pg.Pool;
  crypto: Crypto;
  /** Defaults to the built-in catalogue. */
  catalogue?: Map<string, ToolkitDefinition>;
  /** Where logs go (tests capture them); defaults to stdout. */
  logStream?: Writable;
  /** Name resolution for outgoing calls; defaults to the system resolver. */
  resolveHost?: Resolver;
};

/** `metrics`: the counters when METRICS_ENABLED (buildApp loads that module only then), else none. */
export function buildServices(deps: AppDeps, log: (msg: string, extra?: object) => void, metrics?: Metrics) {
  const c = withDefaults(deps.config);
  // The audit log first: every service that changes something or hands out a secret records through it.
  const auditRepo = auditRepository(deps.db, deps.pool);
  const audit = auditService({
    repo: auditRepo,
    buffer: auditBuffer({
      write: auditRepo.recordMany,
      flushEveryMs: c.AUDIT_FLUSH_MS,
      onError: (err, dropped) => log('audit records could not be written yet', { err: (err as Error)?.message, dropped }),
    }),
    retentionDays: c.AUDIT_RETENTION_DAYS,
  });
  const projects = projectsService({
    repo: projectsRepository(deps.db),
    crypto: deps.crypto,
    cacheMs: deps.config.API_KEY_CACHE_MS,
    audit,
    onError: (err) => log('background write failed', { err: (err as Error)?.message }),
  });
  // One guard per kind of destination, all of them the same module: OAuth endpoints may also be on
  // loopback under OAUTH_ALLOW_INSECURE_LOOPBACK, webhook receivers anywhere under WEBHOOKS_ALLOW_PRIVATE_URLS.
  const allowPrivate = c.EGRESS_ALLOW_PRIVATE_ADDRESSES;
  const oauthEgress = createEgress({
    allowPrivate,
    allowLoopback: c.OAUTH_ALLOW_INSECURE_LOOPBACK,
    timeoutMs: c.OAUTH_TIMEOUT_SECONDS * 1000,
    resolve: deps.resolveHost,
  });
  const webhookEgress = createEgress({
    allowPrivate: allowPrivate || c.WEBHOOKS_ALLOW_PRIVATE_URLS,
    allowLoopback: false,
    timeoutMs: c.WEBHOOK_TIMEOUT_MS,
    resolve: deps.resolveHost,
    keepAlive: true,
  });
  const managedAuth = c.managedAuth;
  const catalogue = deps.catalogue ?? builtInCatalogue();
  const toolkits = toolkitsService({
    catalogue,
    repo: toolkitsRepository(deps.db, deps.pool),
    managedSchemes: (slug) => {
      const def = catalogue.get(slug);
      return def ? managedSchemesOf(def, managedAuth) : [];
    },
    urlProblem: oauthEgress.check,
    audit,
  });
  // The one writer of connected_accounts; every module below that changes an account uses it.
  const store = accountStore({ db: deps.db, pool: deps.pool, crypto: deps.crypto, audit });
  const authConfigs = authConfigsService({
    repo: authConfigsRepository(deps.db, deps.pool),
    toolkits,
    crypto: deps.crypto,
    managedAuth,
    deleteConnections: store.softDeleteForAuthConfig,
    audit,
  });
  const accountsRepo = connectedAccountsRepository(deps.db, deps.pool);
  const authConfigsRepo = authConfigsRepository(deps.db, deps.pool);
  // Tokens Latchkey mints itself (client credentials, service accounts), through the OAuth guard.
  const minted = mintedTokens({
    toolkits,
    openConfigCredentials: authConfigs.openCredentials,
    settings: {
      guardedFetch: (url, init) => oauthEgress.fetch(url, init as EgressRequestInit),
      allowInsecureLoopback: c.OAUTH_ALLOW_INSECURE_LOOPBACK,
      timeoutMs: c.OAUTH_TIMEOUT_SECONDS * 1000,
    },
  });
  // Redirect schemes beyond OAuth2 (OAUTH1, DCR_OAUTH, CIMD_OAUTH): every provider call through the egress guard.
  const providerHttp = guardedHttp(oauthEgress.fetch as Parameters<typeof guardedHttp>[0], {
    timeoutMs: c.OAUTH_TIMEOUT_SECONDS * 1000,
    allowInsecureLoopback: c.OAUTH_ALLOW_INSECURE_LOOPBACK,
  });
  const callbackUrlOf = (cfg: AuthConfigRow) => {
    const own = authConfigs.openCredentials(cfg).oauth_redirect_uri;
    return typeof own === 'string' && own ? own : `${c.publicUrl}${CALLBACK_PATH}`;
  };
  const oauth1 = oauth1Strategy({ toolkits, openConfigCredentials: authConfigs.openCredentials, http: providerHttp, callbackUrl: callbackUrlOf });
  const mcp = mcpStrategy({
    repo: registeredClientsRepository(deps.db),
    crypto: deps.crypto,
    openConfigCredentials: authConfigs.openCredentials,
    http: providerHttp,
    publicUrl: c.publicUrl,
    callbackUrl: callbackUrlOf,
    clientName: 'Latchkey',
  });
  const callbackSessions = callbackSessionsService({
    repo: callbackSessionsRepository(deps.db),
    store,
    findAccount: accountsRepo.find,
    verifierUrl: projects.callbackVerifierUrl,
    crypto: deps.crypto,
  });
  /** The public client ID metadata document of a live CIMD_OAUTH auth config. */
  const clientMetadata = async (authConfigId: string) => {
    const ref = await authConfigsRepo.findCimdConfig(authConfigId);
    const cfg = ref && (await authConfigsRepo.find(ref.projectId, ref.id));
    return cfg ? mcp.metadataDocument(cfg) : undefined;
  };
  const oauth = oauthService({
    repo: oauthRepository(deps.db),
    strategies: { OAUTH1: oauth1, DCR_OAUTH: mcp, CIMD_OAUTH: mcp },
    park: callbackSessions.park,
    pruneParked: callbackSessions.prune,
    accounts: store,
    findAccount: accountsRepo.find,
    findConfig: authConfigsRepo.find,
    openConfigCredentials: authConfigs.openCredentials,
    toolkits,
    crypto: deps.crypto,
    managedAuth,
    settings: {
      publicUrl: c.publicUrl,
      allowInsecureLoopback: c.OAUTH_ALLOW_INSECURE_LOOPBACK,
      timeoutSeconds: c.OAUTH_TIMEOUT_SECONDS,
      guardedFetch: oauthEgress.fetch,
      refreshMarginMs: c.OAUTH_REFRESH_MARGIN_MS,
      attemptTtlMs: c.oauthAttemptTtlMs ?? 10 * 60_000,
    },
    renewer: minted,
    log,
    onRefresh: metrics?.refresh,
  });
  const connectedAccounts = connectedAccountsService({
    repo: accountsRepo,
    authConfigs,
    toolkits,
    oauth,
    store,
    minted,
    signOAuth1: oauth1.sign,
    audit,
    onUnreadable: (id) => log('stored credentials could not be decrypted', { account: id }),
  });
  const connectLinks = connectLinksService({
    repo: connectLinksRepository(deps.db),
    accounts: accountsRepo,
    store,
    authConfigs,
    toolkits,
    oauth,
    minted,
    crypto: deps.crypto,
    publicUrl: c.publicUrl,
  });
  const webhooksRepo = webhooksRepository(deps.db, deps.pool);
  const webhooks = webhooksService({
    repo: webhooksRepo,
    crypto: deps.crypto,
    urlProblem: webhookEgress.check,
    settings: { rotationGraceMs: c.WEBHOOK_SECRET_GRACE_MS },
    audit,
  });
  const webhookDelivery = webhookDispatcher({
    repo: webhooksRepo,
    crypto: deps.crypto,
    maskedView: connectedAccounts.maskedView,
    authConfigState: async (projectId, id) => authConfigsRepo.find(projectId, id),
    egress: webhookEgress,
    settings: { disableAfter: c.WEBHOOK_DISABLE_AFTER_FAILURES },
    log,
    onAttempt: metrics?.deliveryAttempt,
  });
  // The older Composio API (/api/v1, /api/v2): an adapter over the same services.
  const legacyV1 = legacyV1Service({ toolkits, authConfigs, connectedAccounts });
  // The provider proxy: every connection through its own guard (a templated host filled by a user,
  // or a project's toolkit, cannot reach an internal address unless EGRESS_ALLOW_PRIVATE_ADDRESSES).
  const proxy = proxyService({
    repo: proxyRepository(deps.db, deps.pool),
    accounts: connectedAccounts,
    authConfigs,
    toolkits,
    oauth,
    signOAuth1: oauth1.sign,
    crypto: deps.crypto,
    egress: createEgress({
      allowPrivate,
      allowLoopback: false,
      timeoutMs: c.PROXY_TIMEOUT_MS,
      resolve: deps.resolveHost,
      // Only binary_body.url downloads are buffered by the guard's fetch: they become request bodies.
      maxResponseBytes: c.PROXY_MAX_REQUEST_BYTES,
      keepAlive: true,
    }),
    settings: {
      publicUrl: c.publicUrl,
      timeoutMs: c.PROXY_TIMEOUT_MS,
      maxRequestBytes: c.PROXY_MAX_REQUEST_BYTES,
      maxResponseBytes: c.PROXY_MAX_RESPONSE_BYTES,
      accountRateLimit: c.PROXY_ACCOUNT_RATE_LIMIT,
      fileTtlMs: c.PROXY_FILE_TTL_SECONDS * 1000,
      retentionDays: c.PROXY_CALL_RETENTION_DAYS,
    },
    log,
    audit,
  });
  return { audit, metrics, projects, toolkits, authConfigs, connectedAccounts, oauth, connectLinks, webhooks, webhookDelivery, legacyV1, proxy, callbackSessions, clientMetadata };
}
export type Services = ReturnType<typeof buildServices>;

export type RouteDeps = { services: Services; limits: ReturnType<typeof rateLimitPresets> };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A fresh request id: 9 random bytes as base64url. The bytes come from a pool drawn 1,024 ids at a
 * time: one randomBytes call per request was a measurable share of a cached read's CPU.
 */
const ID_BYTES = 9;
let idPool = Buffer.alloc(0);
let idAt = 0;
function newRequestId(): string {
  if (idAt + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 1024);
    idAt = 0;
  }
  idAt += ID_BYTES;
  return `req_${idPool.toString('base64url', idAt - ID_BYTES, idAt)}`;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const config = withDefaults(deps.config);
  const logger: FastifyBaseLogger = pino(loggerOptions(config.LOG_LEVEL), deps.logStream ?? process.stdout);
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    requestIdHeader: false,
    // Keep a caller's well-formed x-request-id so logs correlate across services; otherwise make one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    },
    routerOptions: { maxParamLength: 200 },
    // Malformed HTTP (oversized headers, bad request line or framing): the envelope on the raw socket.
    clientErrorHandler,
    // Errors raised before routing (undecodable URL, over-long path parameter) get the envelope too.
    frameworkErrors: (error, request, reply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL could not be decoded';
      const err = new AppError('Request_ValidationError', message);
      void (reply as FastifyReply).code(err.status).header('x-request-id', request.id).type('application/json').send(envelope(err, request.id));
    },
  });
  // Every route's body, querystring and params also refuse characters PostgreSQL cannot store (NUL,
  // control characters, lone surrogates): a 400 naming the field, for every route, present and future.
  app.setValidatorCompiler((route) => withFastPath(route.schema, validatorCompiler({ ...route, schema: storable(route.schema as z.ZodType) })));
  app.setSerializerCompiler(serializerCompiler);

  // JSON bodies: an empty body is "no body" (clients send DELETE with a JSON content type and nothing).
  // The API speaks JSON only: anything else is a 415.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined);
    void parseJson(req, body as string, done);
  });

  // Every API route declares its whole contract; one that does not is a programming error caught at boot.
  const apiRoutes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    // Public routes (the OAuth callback) answer pages, not JSON: they need a rate limit but no response schema.
    const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
    const missing = [!isPublic && !route.schema?.response && 'a response schema', !route.config?.rateLimit && 'a rate-limit preset'].filter(Boolean);
    if (missing.length) throw new Error(`route ${String(route.method)} ${route.url} lacks ${missing.join(' and ')}`);
    if (!isPublic) for (const m of [route.method].flat()) if (m !== 'HEAD') apiRoutes.push({ method: m, url: route.url });
  });
  app.decorate('apiRoutes', apiRoutes);

  // Set when the request arrives (a synchronous hook: an async onSend cost a promise per response);
  // error replies keep it, and those answered before routing set it themselves.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Audit records written while a request is handled name its API key (or the public pages' end
  // user) and its request id. preHandler: after authentication and body parsing, around the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    actingAs({ actor: request.caller?.keyId ?? 'end_user', requestId: request.id }, done);
  });

  // Metrics only when asked for: when off, nothing is counted, no hook runs per request, and the
  // metrics module (prom-client) is not even loaded.
  const metricsModules = config.METRICS_ENABLED
    ? await Promise.all([import('./modules/metrics/metrics.js'), import('./modules/metrics/metrics.routes.js')])
    : undefined;
  const services = buildServices(
    deps,
    (msg, extra) => app.log.warn(extra ?? {}, msg),
    metricsModules?.[0].createMetrics({ pool: deps.pool }),
  );
  const limits = rateLimitPresets({ max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS });

  await app.register(errorHandler);
  await app.register(authDecoratorPlugin);
  await app.register(rateLimit, { max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS });
  await app.register(openapi, { publicUrl: config.publicUrl, version: VERSION });
  await app.register(healthRoutes, { db: deps.db });
  const { metrics } = services;
  if (metrics && metricsModules) {
    const [, { metricsRoutes }] = metricsModules;
    // Per route template (never the URL): a bounded label set. Unmatched requests share one label.
    app.addHook('onResponse', async (request, reply) => {
      metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
    await app.register(metricsRoutes, { metrics, token: config.METRICS_TOKEN, rateLimit: limits.read });
  }

  for (const prefix of API_PREFIXES) {
    // Public routes under the API prefixes (the OAuth callback): outside the API-key scope.
    await app.register(async (pub) => pub.register(oauthRoutes, { services, limits }), { prefix });
    await app.register(
      async (api) => {
        registerApiKeyAuth(api, services.projects);
        await api.register(toolkitsRoutes, { services, limits });
        await api.register(authConfigsRoutes, { services, limits });
        await api.register(connectedAccountsRoutes, { services, limits });
        await api.register(connectLinksRoutes, { services, limits });
        await api.register(callbackSessionsRoutes, { services, limits });
        await api.register(webhooksRoutes, { services, limits });
        await api.register(auditRoutes, { audit: services.audit, limits });
        // Room for a base64 binary_body of PROXY_MAX_REQUEST_BYTES in the JSON.
        const maxRequest = config.PROXY_MAX_REQUEST_BYTES;
        const executeBodyLimit = Math.max(config.BODY_LIMIT_BYTES, Math.ceil((maxRequest * 4) / 3) + 64 * 1024);
        await api.register(proxyRoutes, { services, limits, executeBodyLimit });
      },
      { prefix },
    );
  }

  // The older Composio API (composio-core 0.4/0.5, the older Python SDK), under the same API-key check.
  await app.register(async (legacy) => {
    registerApiKeyAuth(legacy, services.projects);
    await legacy.register(legacyV1Routes, { legacy: services.legacyV1, limits });
  });

  // CIMD_OAUTH: client ID metadata documents, public (authorization servers fetch them).
  await app.register(clientMetadataRoutes, { prefix: '/oauth/client-metadata', document: services.clientMetadata, rateLimit: limits.sensitive });

  // The hosted Connect Link page, outside the API (and its key) entirely.
  await app.register(hostedPageRoutes, {
    prefix: '/link',
    services,
    rateLimit: limits.sensitive,
    publicUrl: config.publicUrl,
    frameAncestors: parseFrameAncestors(config.LINK_FRAME_ANCESTORS),
    allowRemoteLogos: config.LINK_ALLOW_REMOTE_LOGOS,
    secureCookies: config.publicUrl.startsWith('https:'),
  });

  // The operator console (browser pages, its own session auth), only when enabled.
  // Imported only then: with it off (the default) its pages, services and schemas are not loaded at all.
  if (config.CONSOLE_ENABLED) {
    const [{ consoleRoutes }, { consoleOptions }] = await Promise.all([
      import('./modules/console/console.routes.js'),
      import('./modules/console/console.wiring.js'),
    ]);
    await app.register(consoleRoutes, { prefix: '/console', ...consoleOptions({ db: deps.db, pool: deps.pool, crypto: deps.crypto, config, services, limits }) });
  }

  // Buffered audit records of reads are written before the process lets go of the database.
  app.addHook('onClose', async () => services.audit.close());
  app.decorate('services', services);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    /** Every route under /api that needs an API key, as registered (both prefixes). */
    apiRoutes: { method: string; url: string }[];
  }
}
