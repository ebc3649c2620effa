/** /auth_configs: Composio's auth-config API (§4). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../../app.js';
import { callerOf } from '../../plugins/auth.js';
import {
  AuthConfigList,
  AuthConfigObject,
  AuthConfigParams,
  CreateAuthConfigBody,
  CreateAuthConfigResponse,
  DeleteAuthConfigQuery,
  DeleteAuthConfigResponse,
  EmptyObject,
  ListAuthConfigsQuery,
  StatusParams,
  UpdateAuthConfigBody,
} from './auth-configs.schemas.js';

export const authConfigsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  const { authConfigs } = services;
  const tags = ['Auth configs'];

  app.post('/auth_configs', {
    schema: {
      operationId: 'createAuthConfig',
      summary: 'Create an auth config',
      tags,
      description: "Creates an auth config for a toolkit: custom (your app's credentials) or managed (the operator's).",
      body: CreateAuthConfigBody,
      response: { 201: CreateAuthConfigResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req, reply) => reply.code(201).send(await authConfigs.create(callerOf(req).projectId, req.body)),
  });

  app.get('/auth_configs', {
    schema: { operationId: 'listAuthConfigs', summary: 'List auth configs', tags, querystring: ListAuthConfigsQuery, response: { 200: AuthConfigList } },
    config: { rateLimit: limits.read },
    handler: async (req) => authConfigs.list(callerOf(req).projectId, req.query),
  });

  app.get('/auth_configs/:nanoid', {
    schema: { operationId: 'getAuthConfig', summary: 'Get an auth config', tags, params: AuthConfigParams, response: { 200: AuthConfigObject } },
    config: { rateLimit: limits.read },
    handler: async (req) => authConfigs.get(callerOf(req).projectId, req.params.nanoid),
  });

  app.patch('/auth_configs/:nanoid', {
    schema: {
      operationId: 'updateAuthConfig',
      summary: 'Update an auth config',
      tags,
      description: 'True patch: omitted fields are kept; null, [] or "" clear. Credentials merge key by key.',
      params: AuthConfigParams,
      body: UpdateAuthConfigBody,
      response: { 200: EmptyObject },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => authConfigs.update(callerOf(req).projectId, req.params.nanoid, req.body),
  });

  app.patch('/auth_configs/:nanoid/:status', {
    schema: {
      operationId: 'setAuthConfigStatus',
      summary: 'Enable or disable an auth config',
      tags,
      description: 'ENABLED or DISABLED, no body. A disabled config refuses new connections.',
      params: StatusParams,
      response: { 200: EmptyObject },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => authConfigs.setStatus(callerOf(req).projectId, req.params.nanoid, req.params.status),
  });

  app.delete('/auth_configs/:nanoid', {
    schema: {
      operationId: 'deleteAuthConfig',
      summary: 'Delete an auth config',
      tags,
      description: 'Soft delete; its connected accounts are deleted with it.',
      params: AuthConfigParams,
      querystring: DeleteAuthConfigQuery,
      response: { 200: DeleteAuthConfigResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => authConfigs.remove(callerOf(req).projectId, req.params.nanoid),
  });
};
