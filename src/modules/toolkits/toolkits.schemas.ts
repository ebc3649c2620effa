/** Wire shapes of the toolkit routes (Composio's `GET /toolkits` and `GET /toolkits/{slug}`). */
import { z } from 'zod';
import { cursorParam, limitParam, listEnvelope, nonEmpty, queryBool, toolkitSlug } from '../../lib/schemas.js';
import { AUTH_SCHEMES, AVAILABILITIES, ToolkitDefinitionSchema } from './toolkit-definition.js';

export const ToolkitSlugParams = z.object({ slug: toolkitSlug });

export const ListToolkitsQuery = z.object({
  category: nonEmpty(80).optional(),
  managed_by: z.enum(['composio', 'all', 'project']).default('all'),
  type: z.enum(['native', 'custom', 'all']).default('all'),
  sort_by: z.enum(['usage', 'alphabetically']).default('alphabetically'),
  include_deprecated: queryBool.optional(),
  search: nonEmpty(100).optional(),
  limit: limitParam(1000, 50),
  cursor: cursorParam.optional(),
});
export type ListToolkitsQuery = z.infer<typeof ListToolkitsQuery>;

export const GetToolkitQuery = z.object({ version: z.string().max(40).optional() });

const FieldOut = z.object({
  name: z.string(),
  displayName: z.string(),
  type: z.string(),
  description: z.string(),
  required: z.boolean(),
  default: z.string().nullable().optional(),
  is_secret: z.boolean(),
});
const FieldGroup = z.object({ required: z.array(FieldOut), optional: z.array(FieldOut) });

export const AuthConfigDetail = z.object({
  mode: z.enum(AUTH_SCHEMES),
  name: z.string(),
  fields: z.object({ auth_config_creation: FieldGroup, connected_account_initiation: FieldGroup }),
  proxy: z.object({ base_url: z.string() }),
  auth_hint_url: z.string().optional(),
  /** Latchkey extension: whether the scheme can be connected (only `available` ones can get an auth config). */
  availability: z.enum(AVAILABILITIES),
  /** Latchkey extension: why a scheme is not available, or what was not confirmed. */
  note: z.string().optional(),
});

/** Latchkey extension on built-in toolkits: how the entry was checked against the provider's docs. */
const VerificationOut = z.object({
  status: z.enum(['verified', 'unverified']),
  checked_on: z.string().optional(),
  sources: z.array(z.string()),
  note: z.string().optional(),
});

const Category = z.object({ slug: z.string(), name: z.string() });

export const ToolkitDetail = z.object({
  slug: z.string(),
  name: z.string(),
  type: z.enum(['native', 'custom']),
  enabled: z.boolean(),
  is_local_toolkit: z.boolean(),
  composio_managed_auth_schemes: z.array(z.string()),
  composio_managed_auth: z.array(z.object({ mode: z.string(), scopes: z.object({ available: z.array(z.string()) }) })),
  auth_config_details: z.array(AuthConfigDetail),
  auth_guide_url: z.string().nullable(),
  base_url: z.string(),
  verification: VerificationOut.optional(),
  meta: z.object({
    created_at: z.string(),
    updated_at: z.string(),
    description: z.string(),
    logo: z.string(),
    app_url: z.string().nullable(),
    categories: z.array(Category),
    triggers_count: z.number(),
    tools_count: z.number(),
    version: z.string(),
    available_versions: z.array(z.string()),
  }),
  deprecated: z.object({ toolkitId: z.string(), rawProxyInfoByAuthSchemes: z.array(z.unknown()) }),
});
export type ToolkitDetail = z.infer<typeof ToolkitDetail>;

export const ToolkitListItem = z.object({
  slug: z.string(),
  name: z.string(),
  type: z.enum(['native', 'custom']),
  auth_schemes: z.array(z.string()),
  composio_managed_auth_schemes: z.array(z.string()),
  is_local_toolkit: z.boolean(),
  no_auth: z.boolean(),
  auth_guide_url: z.string().nullable(),
  deprecated: z.object({ toolkitId: z.string() }),
  meta: z.object({
    created_at: z.string(),
    updated_at: z.string(),
    description: z.string(),
    logo: z.string(),
    app_url: z.string().nullable(),
    categories: z.array(z.object({ id: z.string(), name: z.string() })),
    triggers_count: z.number(),
    tools_count: z.number(),
    version: z.string(),
  }),
});
export const ToolkitList = listEnvelope(ToolkitListItem);

/** `POST /toolkits/multi`: the list's filters in a body, and optionally the slugs wanted. */
export const MultiToolkitsBody = z
  .object({
    toolkits: z.array(toolkitSlug).max(1000).optional(),
    category: nonEmpty(80).optional(),
    managed_by: z.enum(['composio', 'all', 'project']).optional(),
    sort_by: z.enum(['usage', 'alphabetically']).optional(),
    limit: z.number().int().min(1).max(1000).nullable().optional(),
    cursor: cursorParam.optional(),
  });
export type MultiToolkitsBody = z.infer<typeof MultiToolkitsBody>;

/** `GET /toolkits/categories`: every category in use, as `{id, name}`. */
export const CategoryList = listEnvelope(z.object({ id: z.string(), name: z.string() }));

/** Body of the custom-toolkit routes: the catalogue format itself. */
export const CustomToolkitBody = ToolkitDefinitionSchema;
export const CustomToolkitCreated = z.object({ slug: z.string(), type: z.literal('custom') });
