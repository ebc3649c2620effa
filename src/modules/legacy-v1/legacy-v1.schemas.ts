/**
 * Wire shapes of the older Composio API (/api/v1, /api/v2), as composio-core 0.4/0.5 and the older
 * Python SDK send and read them. Field names keep the old casing (camelCase, with the few snake_case
 * ones the clients expect). Inputs reuse the v3.1 building blocks, so a value the v3.1 API refuses
 * is refused here too.
 */
import { z } from 'zod';
import { nonEmpty, queryBool, toolkitSlug } from '../../lib/schemas.js';
import { AuthConfigId, Credentials } from '../auth-configs/auth-configs.schemas.js';
import { ConnectedAccountId, LABELS_MAX, Label, Labels, UserId, Val } from '../connected-accounts/connected-accounts.schemas.js';
import { AUTH_SCHEMES } from '../toolkits/toolkit-definition.js';
import { LEGACY_STATUSES } from './legacy-v1.translate.js';

/** A comma-joined list in a query string (`labels=a,b`, `appNames=github,linear`). */
const csv = <T extends z.ZodType<string, string>>(item: T, max: number) =>
  z
    .string()
    .max(5_000)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).max(max));

/** Where the browser goes after OAuth: an http(s) URL, or "" (what the client sends when unset). */
const RedirectUrl = z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(2000)]);
const AuthSchemeIn = z.enum(AUTH_SCHEMES);
const page = z.coerce.number().int().min(1).max(100_000).default(1);
const pageSize = (dflt: number) => z.coerce.number().int().min(1).max(1000).default(dflt);

// ---- apps (toolkits) ---------------------------------------------------------------------------

export const AppKeyParams = z.object({ appKey: toolkitSlug });

const LegacyField = z.object({
  name: z.string(),
  display_name: z.string(),
  description: z.string(),
  type: z.string(),
  required: z.boolean(),
  default: z.string().nullable(),
  expected_from_customer: z.boolean(),
  is_secret: z.boolean(),
});

const AppSummary = z.object({
  appId: z.string(),
  key: z.string(),
  name: z.string(),
  description: z.string(),
  logo: z.string(),
  categories: z.array(z.string()),
  enabled: z.boolean(),
  no_auth: z.boolean(),
});
export const AppList = z.object({ items: z.array(AppSummary), totalPages: z.number().int() });
export const AppDetail = AppSummary.extend({
  auth_schemes: z.array(z.object({ mode: z.string(), name: z.string(), auth_mode: z.string(), fields: z.array(LegacyField) })),
  testConnectors: z.array(z.object({ id: z.string(), name: z.string(), authScheme: z.string() })),
});

// ---- integrations (auth configs) ---------------------------------------------------------------

export const IntegrationParams = z.object({ integrationId: AuthConfigId });

export const ListIntegrationsQuery = z.object({
  appName: toolkitSlug.optional(),
  showDisabled: queryBool.optional(),
  page,
  pageSize: pageSize(50),
});
export type ListIntegrationsQuery = z.infer<typeof ListIntegrationsQuery>;

export const Integration = z.object({
  id: z.string(),
  name: z.string(),
  authScheme: z.string(),
  enabled: z.boolean(),
  deleted: z.boolean(),
  appId: z.string(),
  appName: z.string(),
  logo: z.string(),
  useComposioAuth: z.boolean(),
  authConfig: z.record(z.string(), z.unknown()),
  limitedActions: z.array(z.string()),
  expectedInputFields: z.array(LegacyField),
  connectionsCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Integration = z.infer<typeof Integration>;
export const IntegrationList = z.object({ items: z.array(Integration), totalPages: z.number().int(), page: z.number().int() });

const IntegrationConfig = z.object({
  name: nonEmpty(255).optional(),
  authScheme: AuthSchemeIn.optional(),
  integrationSecrets: Credentials.nullish(),
  useComposioAuth: z.boolean().optional(),
});

export const CreateIntegrationBody = z.object({
  app: z.object({ uniqueKey: toolkitSlug }),
  config: IntegrationConfig,
});
export type CreateIntegrationBody = z.infer<typeof CreateIntegrationBody>;
export const CreateIntegrationResponse = z.object({ integrationId: z.string() });

// ---- connected accounts ------------------------------------------------------------------------

export const InitiateConnectionBody = z.object({
  app: z.object({ integrationId: AuthConfigId.optional(), uniqueKey: toolkitSlug.optional() }),
  config: IntegrationConfig.extend({ name: z.string().max(255).optional() }).optional(),
  connection: z
    .object({
      entityId: UserId.nullish(),
      initiateData: Val.nullish(),
      extra: z.object({ redirectURL: RedirectUrl.nullish(), labels: Labels.nullish() }).optional(),
    })
    .optional(),
});
export type InitiateConnectionBody = z.infer<typeof InitiateConnectionBody>;

/** composio-core 0.4's body (and 0.5's `saveUserAccessData`): the older docs' own field names. */
export const CreateConnectionBody = z.object({
  integrationId: AuthConfigId,
  data: Val.nullish(),
  redirectUri: RedirectUrl.nullish(),
  userUuid: UserId.nullish(),
  entityId: UserId.nullish(),
  labels: Labels.nullish(),
});
export type CreateConnectionBody = z.infer<typeof CreateConnectionBody>;

const ConnectionStarted = z.object({
  connectionStatus: z.enum(LEGACY_STATUSES),
  connectedAccountId: z.string(),
  redirectUrl: z.string().nullable(),
});
export const InitiateConnectionResponse = z.object({ connectionResponse: ConnectionStarted, integrationId: z.string() });
export const CreateConnectionResponse = ConnectionStarted.extend({ integrationId: z.string() });

export const AccountParams = z.object({ connectedAccountId: ConnectedAccountId });

export const ListAccountsQuery = z.object({
  user_uuid: UserId.optional(),
  entityId: UserId.optional(),
  showActiveOnly: queryBool.optional(),
  showDisabled: queryBool.optional(),
  status: csv(z.enum(LEGACY_STATUSES), 4).optional(),
  labels: csv(Label, LABELS_MAX).optional(),
  appNames: csv(toolkitSlug, 50).optional(),
  integrationId: AuthConfigId.optional(),
  connectionId: ConnectedAccountId.optional(),
  page,
  pageSize: pageSize(100),
});
export type ListAccountsQuery = z.infer<typeof ListAccountsQuery>;

export const LegacyAccount = z.object({
  id: z.string(),
  status: z.enum(LEGACY_STATUSES),
  appName: z.string(),
  appUniqueId: z.string(),
  integrationId: z.string(),
  clientUniqueUserId: z.string(),
  entityId: z.string(),
  labels: z.array(z.string()),
  enabled: z.boolean(),
  isDisabled: z.boolean(),
  statusReason: z.string().nullable(),
  invocationCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  connectionParams: z.record(z.string(), z.unknown()),
});
export type LegacyAccount = z.infer<typeof LegacyAccount>;
export const LegacyAccountList = z.object({ items: z.array(LegacyAccount), totalPages: z.number().int(), page: z.number().int() });

export const AuthInfoResponse = z.object({
  base_url: z.string(),
  parameters: z.array(z.object({ name: z.string(), in: z.enum(['header', 'query']), value: z.string() })),
  body: z.record(z.string(), z.unknown()),
});
