/** Wire shapes of /connected_accounts (Composio's contract, §2-§3). */
import { z } from 'zod';
import { idPattern } from '../../lib/ids.js';
import { cursorParam, csvParam, listEnvelope, queryBool, toolkitSlug, withFastCheck } from '../../lib/schemas.js';
import { AuthConfigId } from '../auth-configs/auth-configs.schemas.js';
import { AUTH_SCHEMES } from '../toolkits/toolkit-definition.js';
import { STATUSES } from './state-machine.js';

export const ConnectedAccountId = z.string().max(64).regex(idPattern('connectedAccount'), 'not a connected account id');
/**
 * An account id in a path. Any id-shaped value is looked up, so an unknown one is a 404
 * ConnectedAccount_ResourceNotFound as at Composio (the SDK's waitForConnection relies on it); only
 * a value no id can be (over-long, other characters) is a 400.
 */
const AccountIdInPath = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'not a connected account id');
const ACCOUNT_ID_IN_PATH = /^[A-Za-z0-9_-]{1,64}$/;
/** Every GET by id validates this: a well-formed id skips zod (the pattern is storable text by construction). */
export const AccountParams = withFastCheck(z.object({ nanoid: AccountIdInPath }), (v) => {
  if (typeof v !== 'object' || v === null) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === 'nanoid' && typeof (v as { nanoid: unknown }).nanoid === 'string' && ACCOUNT_ID_IN_PATH.test((v as { nanoid: string }).nanoid);
});
export const AccountStatusParams = z.object({ nanoId: AccountIdInPath });

/** The app's own user id: printable, at most 256 characters. */
export const UserId = z.string().min(1).max(256).regex(/^\P{Cc}+$/u, 'user ids cannot contain control characters');
const Alias = z.string().max(255).regex(/^\P{Cc}*$/u, 'aliases cannot contain control characters');

/**
 * A label (Latchkey extension; the older API's `labels`): 1-64 of A-Z a-z 0-9 _ - . : / = @, so a
 * label never needs quoting in a query string and never contains the comma that joins a list filter.
 * Labels are case-sensitive and matched exactly.
 */
export const LABEL_MAX_LENGTH = 64;
export const LABELS_MAX = 20;
export const Label = z
  .string()
  .trim()
  .min(1)
  .max(LABEL_MAX_LENGTH)
  .regex(/^[A-Za-z0-9_.:=@/-]+$/, 'labels use A-Z, a-z, 0-9 and _ - . : / = @');
/** An account's labels: at most LABELS_MAX, duplicates dropped (the first occurrence keeps its place). */
export const Labels = z
  .array(Label)
  .max(LABELS_MAX)
  .transform((l) => [...new Set(l)]);

/** Values in a connection's `val`: strings (bounded), numbers, booleans, or null to remove on update. */
const ValValue = z.union([z.string().max(20_000), z.number(), z.boolean(), z.null(), z.array(z.string().max(1000)).max(100)]);
export const Val = z
  .record(z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'field names use A-Z, a-z, 0-9, _ . -'), ValValue)
  .refine((r) => Object.keys(r).length <= 60, 'at most 60 fields');

export const ConnectionState = z.object({ authScheme: z.enum(AUTH_SCHEMES), val: Val });

/** Composio's experimental ACL of a SHARED account (shared-access.ts applies it). Lists: at most 1000 user ids. */
export const AclConfig = z.object({
  allow_all_users: z.boolean().optional(),
  allowed_user_ids: z.array(UserId).max(1000).optional(),
  not_allowed_user_ids: z.array(UserId).max(1000).optional(),
});
export const Experimental = z
  .object({
    account_type: z.enum(['PRIVATE', 'SHARED']).optional(),
    acl_config_for_shared: AclConfig.optional(),
  })
  .optional();
/** On responses: the ACL is shown on SHARED accounts (all three fields), never on PRIVATE ones. */
const AclConfigOut = z.object({ allow_all_users: z.boolean(), allowed_user_ids: z.array(z.string()), not_allowed_user_ids: z.array(z.string()) });
export const ExperimentalOut = z.object({ account_type: z.enum(['PRIVATE', 'SHARED']), acl_config_for_shared: AclConfigOut.optional() });

const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);

export const CreateAccountBody = z.object({
  auth_config: z.object({ id: AuthConfigId }),
  connection: z.object({
    state: ConnectionState.optional(),
    data: Val.optional(),
    user_id: UserId.optional(),
    alias: Alias.optional(),
    callback_url: httpUrl.optional(),
    redirect_uri: httpUrl.optional(),
    deprecated_is_v1_rerouted: z.boolean().optional(),
    experimental: Experimental,
    /** Latchkey extension: the account's labels. */
    labels: Labels.optional(),
  }),
  validate_credentials: z.boolean().optional(),
});
export type CreateAccountBody = z.infer<typeof CreateAccountBody>;

const StateOut = z.object({ authScheme: z.enum(AUTH_SCHEMES), val: z.record(z.string(), z.unknown()) });

export const CreateAccountResponse = z.object({
  id: z.string(),
  connectionData: StateOut,
  status: z.enum(STATUSES),
  redirect_url: z.string().nullable(),
  redirect_uri: z.string().nullable(),
});

export const AccountObject = z.object({
  id: z.string(),
  toolkit: z.object({ slug: z.string() }),
  auth_config: z.object({ id: z.string(), auth_scheme: z.enum(AUTH_SCHEMES), is_composio_managed: z.boolean(), is_disabled: z.boolean() }),
  user_id: z.string(),
  status: z.enum(STATUSES),
  status_reason: z.string().nullable(),
  is_disabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  state: StateOut,
  data: z.record(z.string(), z.unknown()),
  params: z.record(z.string(), z.unknown()).optional(),
  word_id: z.string().nullable(),
  alias: z.string().nullable(),
  experimental: ExperimentalOut,
  /** Latchkey extension. */
  labels: z.array(z.string()),
});
export type AccountObject = z.infer<typeof AccountObject>;

export const AccountList = listEnvelope(AccountObject);

export const ListAccountsQuery = z.object({
  user_ids: csvParam(UserId, 100).optional(),
  toolkit_slugs: csvParam(toolkitSlug, 50).optional(),
  auth_config_ids: csvParam(AuthConfigId, 100).optional(),
  connected_account_ids: csvParam(ConnectedAccountId, 100).optional(),
  statuses: csvParam(z.enum(STATUSES), 7).optional(),
  order_by: z.enum(['created_at', 'updated_at']).default('created_at'),
  order_direction: z.enum(['asc', 'desc']).default('desc'),
  account_type: z.enum(['PRIVATE', 'SHARED', 'ALL']).default('PRIVATE'),
  /** Latchkey extension: accounts carrying any of these labels. */
  labels: csvParam(Label, LABELS_MAX).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  cursor: cursorParam.optional(),
});
export type ListAccountsQuery = z.infer<typeof ListAccountsQuery>;

export const UpdateAccountBody = z.object({
  alias: Alias.nullable().optional(),
  connection: z.object({ state: ConnectionState }).optional(),
  experimental: Experimental,
  /** Latchkey extension: replaces the account's labels ([] removes them all). */
  labels: Labels.optional(),
});
export type UpdateAccountBody = z.infer<typeof UpdateAccountBody>;
export const UpdateAccountResponse = z.object({ success: z.boolean(), id: z.string(), status: z.enum(STATUSES) });

export const StatusBody = z.object({ enabled: z.boolean() });
export const SuccessResponse = z.object({ success: z.boolean() });
export const DeleteAccountQuery = z.object({ revoke_on_delete: queryBool.optional() });

export const RefreshQuery = z.object({ redirect_url: httpUrl.optional() });
// nullish: a POST without a body arrives as null.
export const RefreshBody = z.object({ redirect_url: httpUrl.optional(), validate_credentials: z.boolean().optional() }).nullish();
export const RefreshResponse = z.object({ id: z.string(), status: z.enum(STATUSES), redirect_url: z.string().nullable() });

export const RevokeResponse = z.object({
  revoked_tokens: z.array(z.enum(['access_token', 'refresh_token', 'credential'])),
  connected_account: z.object({ id: z.string(), status: z.enum(STATUSES) }),
});

/** `user_id`: the user the parameters are for; the account must be theirs or SHARED with them. */
export const AuthParamsQuery = z.object({
  user_id: UserId.optional(),
  /** OAUTH1: the request the `Authorization: OAuth` header is computed for (default GET on the base URL). */
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).optional(),
  url: z.string().trim().max(4000).optional(),
});

export const AuthParamsResponse = z.object({
  base_url: z.string(),
  parameters: z.array(z.object({ name: z.string(), in: z.enum(['header', 'query']), value: z.string() })),
  body: z.record(z.string(), z.unknown()),
});
