/** Wire shapes of /auth_configs (Composio's contract, §4). `authScheme` is camelCase in create bodies. */
import { z } from 'zod';
import { cursorParam, csvParam, limitParam, listEnvelope, nonEmpty, queryBool, toolkitSlug } from '../../lib/schemas.js';
import { idPattern } from '../../lib/ids.js';
import { AUTH_SCHEMES } from '../toolkits/toolkit-definition.js';

export const AuthConfigId = z.string().max(64).regex(idPattern('authConfig'), 'not an auth config id');
export const AuthConfigParams = z.object({ nanoid: AuthConfigId });

/** Credential values: bounded keys and values, at most 50 of them. */
const credentialValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.array(z.string().max(1000)).max(200)]);
export const Credentials = z
  .record(z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'credential names use A-Z, a-z, 0-9, _ . -'), credentialValue)
  .refine((r) => Object.keys(r).length <= 50, 'at most 50 credentials');

const ToolAccessConfig = z
  .object({
    tools_for_connected_account_creation: z.array(z.string().max(200)).max(500).optional(),
    tools_available_for_execution: z.array(z.string().max(200)).max(500).optional(),
  })
  .strict();
const ProxyConfig = z.object({ proxy_url: z.url().max(2000), proxy_auth_key: z.string().max(2000).optional() }).strict();

const Common = {
  name: nonEmpty(255).optional(),
  tool_access_config: ToolAccessConfig.optional(),
  restrict_to_following_tools: z.array(z.string().max(200)).max(500).optional(),
  shared_credentials: z.record(z.string().max(100), z.unknown()).optional(),
  is_enabled_for_tool_router: z.boolean().optional(),
};

export const CreateAuthConfigBody = z.object({
  toolkit: z.object({ slug: toolkitSlug }),
  auth_config: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('use_composio_managed_auth'), credentials: Credentials.optional(), ...Common }),
      z.object({
        type: z.literal('use_custom_auth'),
        authScheme: z.enum(AUTH_SCHEMES),
        credentials: Credentials.optional(),
        proxy_config: ProxyConfig.nullable().optional(),
        ...Common,
      }),
    ])
    .optional(),
});
export type CreateAuthConfigBody = z.infer<typeof CreateAuthConfigBody>;

export const CreateAuthConfigResponse = z.object({
  toolkit: z.object({ slug: z.string() }),
  auth_config: z.object({
    id: z.string(),
    auth_scheme: z.string(),
    is_composio_managed: z.boolean(),
    restrict_to_following_tools: z.array(z.string()).optional(),
  }),
});

export const UpdateAuthConfigBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('custom'), credentials: Credentials.nullable().optional(), proxy_config: ProxyConfig.nullable().optional(), ...Common }),
  z.object({
    type: z.literal('default'),
    scopes: z.union([z.string().max(5000), z.array(z.string().max(300)).max(200)]).nullable().optional(),
    user_scopes: z.union([z.string().max(5000), z.array(z.string().max(300)).max(200)]).nullable().optional(),
    ...Common,
  }),
]);
export type UpdateAuthConfigBody = z.infer<typeof UpdateAuthConfigBody>;

export const ListAuthConfigsQuery = z.object({
  toolkit_slug: csvParam(toolkitSlug, 50).optional(),
  is_composio_managed: queryBool.optional(),
  show_disabled: queryBool.optional(),
  search: z.string().max(255).optional(),
  limit: limitParam(200, 20),
  cursor: cursorParam.optional(),
  deprecated_app_id: z.string().max(100).optional(),
  deprecated_status: z.string().max(100).optional(),
});
export type ListAuthConfigsQuery = z.infer<typeof ListAuthConfigsQuery>;

export const AuthConfigObject = z.object({
  id: z.string(),
  uuid: z.string(),
  type: z.enum(['default', 'custom']),
  toolkit: z.object({ slug: z.string(), logo: z.string(), auth_guide_url: z.string().nullable().optional() }),
  name: z.string(),
  auth_scheme: z.enum(AUTH_SCHEMES),
  is_composio_managed: z.boolean(),
  credentials: z.record(z.string(), z.unknown()).optional(),
  proxy_config: z.object({ proxy_url: z.string(), proxy_auth_key: z.string().optional() }).nullable().optional(),
  status: z.enum(['ENABLED', 'DISABLED']),
  created_at: z.string(),
  last_updated_at: z.string(),
  no_of_connections: z.number().int(),
  expected_input_fields: z.array(z.unknown()),
  tool_access_config: z.object({
    tools_for_connected_account_creation: z.array(z.string()),
    tools_available_for_execution: z.array(z.string()),
  }),
  is_enabled_for_tool_router: z.boolean(),
});
export type AuthConfigObject = z.infer<typeof AuthConfigObject>;

export const AuthConfigList = listEnvelope(AuthConfigObject);

export const StatusParams = z.object({ nanoid: AuthConfigId, status: z.enum(['ENABLED', 'DISABLED']) });
export const DeleteAuthConfigQuery = z.object({ revoke_on_delete: queryBool.optional() });
export const EmptyObject = z.object({});
export const DeleteAuthConfigResponse = z.object({ success: z.boolean() });
