/** /connected_accounts: Composio's connected-account API (§3), plus Latchkey's /auth_params. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../../app.js';
import { errorEnvelope } from '../../lib/schemas.js';
import { compiledSerializer } from '../../lib/compiled-serializer.js';
import { callerOf } from '../../plugins/auth.js';
import {
  AccountList,
  AccountObject,
  AccountParams,
  AccountStatusParams,
  AuthParamsQuery,
  AuthParamsResponse,
  CreateAccountBody,
  CreateAccountResponse,
  DeleteAccountQuery,
  ListAccountsQuery,
  RefreshBody,
  RefreshQuery,
  RefreshResponse,
  RevokeResponse,
  StatusBody,
  SuccessResponse,
  UpdateAccountBody,
  UpdateAccountResponse,
} from './connected-accounts.schemas.js';

export const connectedAccountsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  const { connectedAccounts: accounts } = services;
  const tags = ['Connected accounts'];

  app.post('/connected_accounts', {
    schema: {
      operationId: 'createConnectedAccount',
      summary: 'Connect an end user',
      tags,
      description:
        'Connects an end user. Credential schemes (API_KEY, BEARER_TOKEN, BASIC, ...) become ACTIVE at once. ' +
        '`connection.labels` (Latchkey extension) labels the account; `connection.experimental` makes it SHARED, with an ACL of who else may use it.',
      body: CreateAccountBody,
      response: { 201: CreateAccountResponse },
    },
    serializerCompiler: compiledSerializer,
    config: { rateLimit: limits.write },
    handler: async (req, reply) => reply.code(201).send(await accounts.create(callerOf(req), req.body)),
  });

  app.get('/connected_accounts', {
    schema: {
      operationId: 'listConnectedAccounts',
      summary: 'List connected accounts',
      tags,
      description:
        'Array filters take comma-joined values (user_ids=a,b) or repeated keys. Cursors are opaque keysets. ' +
        '`labels` (Latchkey extension) matches accounts carrying any of them. With account_type SHARED or ALL, `user_ids` also matches SHARED accounts ' +
        'whose ACL allows one of those users (they keep their owner\'s user_id).',
      querystring: ListAccountsQuery,
      response: { 200: AccountList },
    },
    serializerCompiler: compiledSerializer,
    config: { rateLimit: limits.read },
    handler: async (req) => accounts.list(callerOf(req), req.query),
  });

  app.get('/connected_accounts/:nanoid', {
    schema: { operationId: 'getConnectedAccount', summary: 'Get a connected account', tags, params: AccountParams, response: { 200: AccountObject } },
    serializerCompiler: compiledSerializer,
    config: { rateLimit: limits.read },
    handler: async (req) => accounts.get(callerOf(req), req.params.nanoid),
  });

  app.patch('/connected_accounts/:nanoid', {
    schema: {
      operationId: 'updateConnectedAccount',
      summary: 'Update a connected account',
      tags,
      description:
        'Sets the alias ("" or null clears) and patches credentials: an omitted field is kept, null removes it. ' +
        '`labels` (Latchkey extension) replaces the labels. `experimental.acl_config_for_shared` patches the ACL of a SHARED account (an omitted field is kept, a list given replaces the stored one).',
      params: AccountParams,
      body: UpdateAccountBody,
      response: { 200: UpdateAccountResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => accounts.update(callerOf(req), req.params.nanoid, req.body),
  });

  app.patch('/connected_accounts/:nanoId/status', {
    schema: {
      operationId: 'setConnectedAccountStatus',
      summary: 'Enable or disable a connected account',
      tags,
      description: 'enabled=false moves ACTIVE to INACTIVE; enabled=true moves it back.',
      params: AccountStatusParams,
      body: StatusBody,
      response: { 200: SuccessResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => accounts.setEnabled(callerOf(req), req.params.nanoId, req.body.enabled),
  });

  app.delete('/connected_accounts/:nanoid', {
    schema: {
      operationId: 'deleteConnectedAccount',
      summary: 'Delete a connected account',
      tags,
      description: 'Soft delete: the account is gone from every read. revoke_on_delete is accepted.',
      params: AccountParams,
      querystring: DeleteAccountQuery,
      response: { 200: SuccessResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => accounts.remove(callerOf(req), req.params.nanoid, req.query.revoke_on_delete ?? false),
  });

  app.post('/connected_accounts/:nanoid/refresh', {
    schema: {
      operationId: 'refreshConnectedAccount',
      summary: 'Re-authorise a connected account',
      tags,
      params: AccountParams,
      querystring: RefreshQuery,
      body: RefreshBody,
      response: { 200: RefreshResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => accounts.refresh(callerOf(req), req.params.nanoid, req.query.redirect_url ?? req.body?.redirect_url),
  });

  app.post('/connected_accounts/:nanoid/revoke', {
    schema: {
      operationId: 'revokeConnectedAccount',
      summary: 'Revoke a connected account at the provider',
      tags,
      description: 'Revokes the credential at the provider where the toolkit supports it (400 where it does not).',
      params: AccountParams,
      response: { 200: RevokeResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => accounts.revoke(callerOf(req), req.params.nanoid),
  });

  app.post('/connected_accounts/:nanoid/refresh_token', {
    schema: {
      operationId: 'refreshConnectedAccountToken',
      summary: "Refresh a connected account's OAuth2 token",
      tags,
      description: "Latchkey extension: refresh an ACTIVE OAuth2 account's access token now (single-flight across replicas).",
      params: AccountParams,
      response: { 200: AccountObject },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => accounts.refreshToken(callerOf(req), req.params.nanoid),
  });

  app.get('/connected_accounts/:nanoid/auth_params', {
    schema: {
      operationId: 'getConnectedAccountAuthParams',
      summary: 'Get the parameters that carry a credential',
      tags,
      description:
        'Latchkey extension: what a caller needs to call the provider directly — base URL (templates filled) and the headers or query parameters that carry the credential. ' +
        'With `user_id`, the account must be that user\'s own or SHARED with them by its ACL (403 otherwise). ' +
        'OAUTH1 accounts get an `Authorization: OAuth` header signed for `method` and `url` (a URL on the provider\'s API host; default GET on the base URL).',
      params: AccountParams,
      querystring: AuthParamsQuery,
      response: {
        200: AuthParamsResponse,
        403: errorEnvelope.describe('The account is neither the user\'s own nor SHARED with them (ConnectedAccount_SharedAccessDenied).'),
      },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => accounts.authParams(callerOf(req), req.params.nanoid, req.query.user_id, { method: req.query.method, url: req.query.url }),
  });
};
