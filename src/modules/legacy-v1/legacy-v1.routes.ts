/**
 * /api/v1 and /api/v2: the routes composio-core 0.4/0.5 and the older Python SDK call. Each is a
 * one-line handler over the legacy adapter (legacy-v1.service.ts), which calls the v3.1 services.
 * Errors keep the v3 envelope and gain the top-level `message` (and `details`) those clients show.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { callerOf } from '../../plugins/auth.js';
import type { rateLimitPresets } from '../../plugins/rate-limit.js';
import type { ErrorEnvelope } from '../../plugins/error-handler.js';
import type { LegacyV1Service } from './legacy-v1.service.js';
import {
  AccountParams,
  AppDetail,
  AppKeyParams,
  AppList,
  AuthInfoResponse,
  CreateConnectionBody,
  CreateConnectionResponse,
  CreateIntegrationBody,
  CreateIntegrationResponse,
  InitiateConnectionBody,
  InitiateConnectionResponse,
  Integration,
  IntegrationList,
  IntegrationParams,
  LegacyAccount,
  LegacyAccountList,
  ListAccountsQuery,
  ListIntegrationsQuery,
} from './legacy-v1.schemas.js';
import { legacyError } from './legacy-v1.translate.js';

export type LegacyV1RouteDeps = { legacy: LegacyV1Service; limits: ReturnType<typeof rateLimitPresets> };

export const legacyV1Routes: FastifyPluginAsyncZod<LegacyV1RouteDeps> = async (app, { legacy, limits }) => {
  const tags = ['Legacy API (v1/v2)'];
  const deprecated = true;

  // The old clients read a top-level `message` (and `details` on 400): add them beside the envelope.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    try {
      const body = JSON.parse(payload) as ErrorEnvelope;
      if (!body.error) return payload;
      return JSON.stringify({ ...body, ...legacyError(body.error.message, body.error.errors) });
    } catch {
      return payload;
    }
  });

  app.get('/api/v1/apps', {
    schema: { operationId: 'legacyListApps', tags, deprecated, summary: 'List apps (toolkits), old shape', response: { 200: AppList } },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.listApps(callerOf(req).projectId),
  });

  app.get('/api/v1/apps/:appKey', {
    schema: {
      operationId: 'legacyGetApp',
      tags,
      deprecated,
      summary: 'One app (toolkit) with its auth schemes and fields',
      description: 'Fields carry expected_from_customer; testConnectors lists the schemes the operator has managed credentials for.',
      params: AppKeyParams,
      response: { 200: AppDetail },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.getApp(callerOf(req).projectId, req.params.appKey),
  });

  app.get('/api/v1/integrations', {
    schema: {
      operationId: 'legacyListIntegrations',
      tags,
      deprecated,
      summary: 'List integrations (auth configs)',
      querystring: ListIntegrationsQuery,
      response: { 200: IntegrationList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.listIntegrations(callerOf(req).projectId, req.query),
  });

  app.get('/api/v1/integrations/:integrationId', {
    schema: {
      operationId: 'legacyGetIntegration',
      tags,
      deprecated,
      summary: 'One integration (auth config) with its expectedInputFields',
      params: IntegrationParams,
      response: { 200: Integration },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.getIntegration(callerOf(req).projectId, req.params.integrationId),
  });

  app.post('/api/v2/integrations/create', {
    schema: {
      operationId: 'legacyCreateIntegration',
      tags,
      deprecated,
      summary: 'Create an integration (auth config)',
      description: 'useComposioAuth=true makes a managed auth config; otherwise a custom one with integrationSecrets.',
      body: CreateIntegrationBody,
      response: { 200: CreateIntegrationResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => legacy.createIntegration(callerOf(req).projectId, req.body),
  });

  app.post('/api/v2/connectedAccounts/initiateConnection', {
    schema: {
      operationId: 'legacyInitiateConnection',
      tags,
      deprecated,
      summary: 'Start a connection (composio-core 0.5)',
      description: 'API-key style schemes are ACTIVE at once; OAuth answers INITIATED with the URL that starts consent.',
      body: InitiateConnectionBody,
      response: { 200: InitiateConnectionResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => legacy.initiateConnection(callerOf(req), req.body),
  });

  app.post('/api/v1/connectedAccounts', {
    schema: {
      operationId: 'legacyCreateConnection',
      tags,
      deprecated,
      summary: 'Start a connection (composio-core 0.4 shape)',
      body: CreateConnectionBody,
      response: { 200: CreateConnectionResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => legacy.createConnection(callerOf(req), req.body),
  });

  app.get('/api/v1/connectedAccounts', {
    schema: {
      operationId: 'legacyListConnections',
      tags,
      deprecated,
      summary: 'List connected accounts, old shape',
      description: 'user_uuid or entityId filter by entity (user id); page is 1-based.',
      querystring: ListAccountsQuery,
      response: { 200: LegacyAccountList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.listAccounts(callerOf(req), req.query),
  });

  app.get('/api/v1/connectedAccounts/:connectedAccountId', {
    schema: {
      operationId: 'legacyGetConnection',
      tags,
      deprecated,
      summary: 'One connected account, with connectionParams',
      params: AccountParams,
      response: { 200: LegacyAccount },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.getAccount(callerOf(req), req.params.connectedAccountId),
  });

  app.get('/api/v1/connectedAccounts/:connectedAccountId/info', {
    schema: {
      operationId: 'legacyGetConnectionInfo',
      tags,
      deprecated,
      summary: 'Auth params of a connected account',
      description: 'The same as /api/v3.1/connected_accounts/{id}/auth_params.',
      params: AccountParams,
      response: { 200: AuthInfoResponse },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => legacy.authInfo(callerOf(req), req.params.connectedAccountId),
  });
};
