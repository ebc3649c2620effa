/**
 * The toolkit catalogue format. A toolkit (a third-party app such as GitHub or Linear) is described
 * as data: the built-in ones live in ./catalogue/<slug>.json, and a project may register its own in
 * the same shape through the API. Everything provider-specific (OAuth URLs, scope separators, PKCE,
 * how a credential is put on a request, per-tenant base URLs) comes from here, never from code.
 */
import { z } from 'zod';

/** Auth schemes Latchkey knows (Composio's enum). */
export const AUTH_SCHEMES = [
  'OAUTH2',
  'OAUTH1',
  'API_KEY',
  'BASIC',
  'BILLCOM_AUTH',
  'BEARER_TOKEN',
  'GOOGLE_SERVICE_ACCOUNT',
  'NO_AUTH',
  'BASIC_WITH_JWT',
  'CALCOM_AUTH',
  'SERVICE_ACCOUNT',
  'SAML',
  'DCR_OAUTH',
  'CIMD_OAUTH',
  'S2S_OAUTH2',
] as const;
export const AuthSchemeSchema = z.enum(AUTH_SCHEMES);
export type AuthScheme = z.infer<typeof AuthSchemeSchema>;

/** Composio's spelling: lower-case, may start with `_` (`_21risk`). */
const slugRe = /^[a-z0-9_][a-z0-9_-]{0,62}$/;
/** Category ids as Composio spells them (`developer-tools-&-devops`, `ai/computer-vision`). */
const categorySlugRe = /^[a-z0-9][a-z0-9&/()_-]{0,79}$/;
const fieldNameRe = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** `{{field}}` placeholders, filled from the account's (or auth config's) fields. */
const templateRe = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export const FieldSchema = z
  .object({
    name: z.string().regex(fieldNameRe),
    displayName: z.string().min(1).max(120),
    type: z.enum(['string', 'number', 'boolean', 'url', 'text']),
    description: z.string().min(1).max(500),
    required: z.boolean(),
    default: z.string().max(2000).nullable().optional(),
    is_secret: z.boolean().default(false),
    /**
     * Latchkey extension, never sent to clients: a regular expression the value must match.
     * Every field used in a URL template must have one that keeps it inside the provider's host.
     */
    pattern: z
      .string()
      .max(300)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
  })
  .strict();
export type ToolkitField = z.infer<typeof FieldSchema>;

/** How a credential is put on an outgoing request. Values are templates over the credential fields. */
export const RequestAuthSchema = z.discriminatedUnion('in', [
  z.object({ in: z.literal('header'), name: z.string().min(1).max(100), value: z.string().min(1).max(500) }).strict(),
  z.object({ in: z.literal('query'), name: z.string().min(1).max(100), value: z.string().min(1).max(500) }).strict(),
  /** HTTP Basic: `Authorization: Basic base64(username:password)`. */
  z.object({ in: z.literal('basic'), username: z.string().max(500), password: z.string().max(500) }).strict(),
]);
export type RequestAuth = z.infer<typeof RequestAuthSchema>;

const httpsUrl = z
  .string()
  .max(2000)
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

/**
 * Whether Latchkey can connect a scheme: `available`; `unverified` (the provider offers it, but its
 * details were not confirmed against the provider's documentation, so they are left out rather than
 * guessed); `unsupported` (Latchkey cannot connect it yet, e.g. SAML). Only `available` schemes can
 * get an auth config.
 */
export const AVAILABILITIES = ['available', 'unverified', 'unsupported'] as const;
export type Availability = (typeof AVAILABILITIES)[number];

/** How an entry's facts were checked. Built-in entries carry it; a project's own toolkits may. */
export const VerificationSchema = z
  .object({
    /** verified: every URL, endpoint, scope and request rule was read on the provider's own docs. */
    status: z.enum(['verified', 'unverified']),
    checked_on: z.iso.date().optional(),
    /** The provider documentation pages actually read. */
    sources: z.array(httpsUrl).max(20).default([]),
    note: z.string().min(1).max(500).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.status !== 'verified') return;
    if (!v.checked_on) ctx.addIssue({ code: 'custom', message: 'a verified entry needs checked_on', path: ['checked_on'] });
    if (!v.sources.length) ctx.addIssue({ code: 'custom', message: 'a verified entry needs at least one source', path: ['sources'] });
  });
export type Verification = z.infer<typeof VerificationSchema>;

export const OAuth2DetailsSchema = z
  .object({
    authorization_url: httpsUrl,
    token_url: httpsUrl,
    /** RFC 7009 revocation endpoint, where the provider has one. */
    revocation_url: httpsUrl.optional(),
    /** The provider's user-info endpoint, where it documents one. */
    userinfo_url: httpsUrl.optional(),
    default_scopes: z.array(z.string().min(1).max(300)).max(100).default([]),
    /** Slack-style user scopes, sent as `user_scope`. */
    default_user_scopes: z.array(z.string().min(1).max(300)).max(100).optional(),
    scope_separator: z.enum([' ', ',', '+']).default(' '),
    /** Whether to send PKCE S256. False only where the provider rejects it. */
    pkce: z.boolean().default(true),
    /** Extra authorize parameters, e.g. Google's access_type=offline and prompt=consent. */
    authorize_params: z.record(z.string().max(100), z.string().max(500)).default({}),
    /** Extra token-request parameters. */
    token_params: z.record(z.string().max(100), z.string().max(500)).default({}),
    /** How the client authenticates at the token endpoint. */
    token_endpoint_auth_method: z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_post'),
    /** Where the provider issues tokens that never expire and no refresh token (GitHub OAuth apps). */
    tokens_expire: z.boolean().default(true),
  })
  .strict();
export type OAuth2Details = z.infer<typeof OAuth2DetailsSchema>;

/** OAuth 1.0a (RFC 5849) endpoints: temporary credentials, the user's authorization, token credentials. */
export const OAuth1DetailsSchema = z
  .object({
    request_token_url: httpsUrl,
    authorize_url: httpsUrl,
    access_token_url: httpsUrl,
    /** The provider's signature method; an auth config may name another (RSA-SHA1 with a private key). */
    signature_method: z.enum(['HMAC-SHA1', 'RSA-SHA1', 'PLAINTEXT']).default('HMAC-SHA1'),
    /** Extra authorize parameters (Trello's scope, expiration and name). */
    authorize_params: z.record(z.string().max(100), z.string().max(500)).default({}),
  })
  .strict();
export type OAuth1Details = z.infer<typeof OAuth1DetailsSchema>;

/**
 * S2S_OAUTH2: the client credentials grant (RFC 6749 §4.4). The app's client id and secret (in the
 * auth config, or in the account when the toolkit asks each account for them) buy a token here.
 */
export const ClientCredentialsDetailsSchema = z
  .object({
    /** May use `{{field}}` templates (Microsoft's `{{tenant_id}}`), each a field with a pattern. */
    token_url: httpsUrl,
    default_scopes: z.array(z.string().min(1).max(300)).max(100).default([]),
    scope_separator: z.enum([' ', ',', '+']).default(' '),
    /** Auth0-style APIs name the API a token is for. */
    audience: z.string().min(1).max(500).optional(),
    /** RFC 8707 resource indicator. */
    resource: z.string().min(1).max(2000).optional(),
    /** Other fixed token parameters (e.g. Zoom's account_id as a template). */
    token_params: z.record(z.string().max(100), z.string().max(500)).default({}),
    token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  })
  .strict();
export type ClientCredentialsDetails = z.infer<typeof ClientCredentialsDetailsSchema>;

/**
 * GOOGLE_SERVICE_ACCOUNT and SERVICE_ACCOUNT (GitHub Apps): the account holds a key, Latchkey mints
 * tokens with it. Google: the scopes the assertion asks for (an auth config's `scopes` replace
 * them). GitHub: the REST API the installation tokens come from (an auth config's `api_base_url`
 * replaces it, for GitHub Enterprise Server).
 */
export const ServiceAccountDetailsSchema = z
  .object({
    default_scopes: z.array(z.string().min(1).max(300)).max(100).default([]),
    api_base_url: httpsUrl.optional(),
  })
  .strict();
export type ServiceAccountDetails = z.infer<typeof ServiceAccountDetailsSchema>;

export const AuthSchemeDefinitionSchema = z
  .object({
    mode: AuthSchemeSchema,
    /** Display name of the method, e.g. "GitHub OAuth App". */
    name: z.string().min(1).max(120),
    availability: z.enum(AVAILABILITIES).default('available'),
    /** Shown with the availability: why a scheme is unsupported, what was not confirmed. */
    note: z.string().min(1).max(500).optional(),
    fields: z
      .object({
        /** What a developer supplies when creating a custom auth config (client_id, client_secret, ...). */
        auth_config_creation: z.array(FieldSchema).max(50).default([]),
        /** What each end user supplies when connecting (api_key, subdomain, shop_name, ...). */
        connected_account_initiation: z.array(FieldSchema).max(50).default([]),
      })
      .strict(),
    oauth2: OAuth2DetailsSchema.optional(),
    oauth1: OAuth1DetailsSchema.optional(),
    /** S2S_OAUTH2 only. */
    client_credentials: ClientCredentialsDetailsSchema.optional(),
    /** GOOGLE_SERVICE_ACCOUNT and SERVICE_ACCOUNT only. */
    service_account: ServiceAccountDetailsSchema.optional(),
    /** How the credential goes on a request to `base_url`. */
    request_auth: z.array(RequestAuthSchema).max(10).default([]),
    /** Overrides the toolkit's base_url for this scheme. */
    base_url: z.string().max(2000).optional(),
    auth_hint_url: httpsUrl.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    // An unverified or unsupported scheme is listed without its details; it can never be connected.
    if (s.availability === 'unsupported' && !s.note) ctx.addIssue({ code: 'custom', message: 'an unsupported scheme needs a note saying why', path: ['note'] });
    if (s.mode === 'OAUTH2' && !s.oauth2 && s.availability === 'available') {
      ctx.addIssue({ code: 'custom', message: `${s.mode} scheme needs oauth2 details`, path: ['oauth2'] });
    }
    // DCR_OAUTH / CIMD_OAUTH need no endpoints: they are discovered from the auth config's MCP server URL.
    if (s.mode === 'OAUTH1' && !s.oauth1 && s.availability === 'available') {
      ctx.addIssue({ code: 'custom', message: 'OAUTH1 scheme needs oauth1 details', path: ['oauth1'] });
    }
    if (s.mode === 'S2S_OAUTH2' && !s.client_credentials && s.availability === 'available') {
      ctx.addIssue({ code: 'custom', message: 'S2S_OAUTH2 scheme needs client_credentials details (token_url)', path: ['client_credentials'] });
    }
    if (s.client_credentials && s.mode !== 'S2S_OAUTH2') {
      ctx.addIssue({ code: 'custom', message: 'client_credentials belongs to an S2S_OAUTH2 scheme', path: ['client_credentials'] });
    }
    if (s.service_account && s.mode !== 'GOOGLE_SERVICE_ACCOUNT' && s.mode !== 'SERVICE_ACCOUNT') {
      ctx.addIssue({ code: 'custom', message: 'service_account belongs to a GOOGLE_SERVICE_ACCOUNT or SERVICE_ACCOUNT scheme', path: ['service_account'] });
    }
    const names = [...s.fields.auth_config_creation, ...s.fields.connected_account_initiation].map((f) => f.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `field ${dup} is declared twice`, path: ['fields'] });
  });
export type AuthSchemeDefinition = z.infer<typeof AuthSchemeDefinitionSchema>;

const toolkitShape = {
  slug: z.string().regex(slugRe, 'lower-case letters, digits, _ and -'),
  name: z.string().min(1).max(120),
  description: z.string().min(1).max(1000),
  /** The provider's own logo; optional (answered as "" when absent, see the module README). */
  logo: httpsUrl.optional(),
  /** Optional only on an unverified entry. */
  app_url: httpsUrl.optional(),
  /** The provider documentation this entry was checked against; optional only on an unverified entry. */
  docs_url: httpsUrl.optional(),
  categories: z
    .array(z.object({ slug: z.string().regex(categorySlugRe), name: z.string().min(1).max(80) }).strict())
    .min(1)
    .max(10),
  /**
   * API base URL; may use templates over user fields, e.g. https://{{subdomain}}.zendesk.com/api/v2.
   * Optional only on an unverified entry.
   */
  base_url: z.string().max(2000).optional(),
  /**
   * Latchkey extension: further hosts the provider's API lives on (an upload host), where the
   * proxy may also send the account's credential. Exact host names, no templates.
   */
  api_hosts: z
    .array(z.string().regex(/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/, 'a lower-case host name'))
    .max(10)
    .optional(),
  auth_schemes: z.array(AuthSchemeDefinitionSchema).max(10),
  verification: VerificationSchema.optional(),
};

type ToolkitShape = z.infer<z.ZodObject<typeof toolkitShape>>;

function checkToolkit(t: ToolkitShape, ctx: z.RefinementCtx) {
  const modes = t.auth_schemes.map((s) => s.mode);
  if (new Set(modes).size !== modes.length) {
    ctx.addIssue({ code: 'custom', message: 'each auth scheme may appear once', path: ['auth_schemes'] });
  }
  // What may be left out of an unverified entry (never guessed) is required everywhere else.
  if (t.verification?.status !== 'unverified') {
    // An MCP server by URL has no fixed API base: it is the resource discovered from the auth config's URL.
    const discovered = t.auth_schemes.length > 0 && t.auth_schemes.every((s) => s.mode === 'DCR_OAUTH' || s.mode === 'CIMD_OAUTH');
    for (const key of ['app_url', 'docs_url', 'base_url'] as const) {
      if (!t[key] && !(key === 'base_url' && discovered)) ctx.addIssue({ code: 'custom', message: `${key} is required unless the entry is unverified`, path: [key] });
    }
  }
  // Every template placeholder in a URL must be a declared field with a pattern, so that a
  // user-supplied value can never move the URL to another host. A scheme that is not available is
  // never connected, so its URLs are never filled (it may inherit a templated base_url it has no
  // fields for).
  t.auth_schemes.forEach((s, i) => {
    if (s.availability !== 'available') return;
    const fields = new Map([...s.fields.auth_config_creation, ...s.fields.connected_account_initiation].map((f) => [f.name, f]));
    for (const url of schemeUrls(t, s)) {
      for (const name of templateNames(url)) {
        const f = fields.get(name);
        if (!f) ctx.addIssue({ code: 'custom', message: `template {{${name}}} is not a field of ${s.mode}`, path: ['auth_schemes', i] });
        else if (!f.pattern) ctx.addIssue({ code: 'custom', message: `field ${name} is used in a URL and needs a pattern`, path: ['auth_schemes', i] });
      }
    }
  });
}

/** A toolkit: the built-in entries and a project's own (for which `verification` is optional). */
export const ToolkitDefinitionSchema = z.object(toolkitShape).strict().superRefine(checkToolkit);
/** A built-in catalogue entry: as a toolkit, and it always says how it was verified. */
export const CatalogueEntrySchema = z
  .object({ ...toolkitShape, verification: VerificationSchema })
  .strict()
  .superRefine(checkToolkit);
export type ToolkitDefinition = z.infer<typeof ToolkitDefinitionSchema>;
export type ToolkitDefinitionInput = z.input<typeof ToolkitDefinitionSchema>;

/**
 * The URLs of a toolkit that Latchkey itself requests (as opposed to the authorize URL, which the
 * user's browser visits), with their paths in the definition. For a project's own toolkit these are
 * checked by the egress guard when saved and again when dialled.
 */
export function serverCalledUrls(def: ToolkitDefinition): { path: string; url: string }[] {
  return def.auth_schemes.flatMap((s, i) => {
    const at = `auth_schemes.${i}.oauth2`;
    return [
      s.oauth2 && { path: `${at}.token_url`, url: s.oauth2.token_url },
      s.oauth2?.revocation_url && { path: `${at}.revocation_url`, url: s.oauth2.revocation_url },
      s.oauth2?.userinfo_url && { path: `${at}.userinfo_url`, url: s.oauth2.userinfo_url },
      s.client_credentials && { path: `auth_schemes.${i}.client_credentials.token_url`, url: s.client_credentials.token_url },
      s.service_account?.api_base_url && { path: `auth_schemes.${i}.service_account.api_base_url`, url: s.service_account.api_base_url },
      s.oauth1 && { path: `auth_schemes.${i}.oauth1.request_token_url`, url: s.oauth1.request_token_url },
      s.oauth1 && { path: `auth_schemes.${i}.oauth1.access_token_url`, url: s.oauth1.access_token_url },
    ].filter((u): u is { path: string; url: string } => !!u);
  });
}

/**
 * A project's toolkit as read back from the database. It was validated when saved, possibly by an
 * earlier version: only what was added since with a default can be missing (a scheme's
 * `availability`, added after custom toolkits were), and it is filled in as the schema would.
 */
export function storedDefinition(json: unknown): ToolkitDefinition {
  const d = json as ToolkitDefinition;
  return { ...d, auth_schemes: d.auth_schemes.map((s) => ({ ...s, availability: s.availability ?? 'available' })) };
}

/**
 * A toolkit's logo as answered: the provider's logo URL, or "" when the entry has none. Composio's
 * clients read `logo` as a string (`auth_configs[].toolkit.logo` must be one, `meta.logo` must not be
 * null), and an empty string is one that no client renders as an image.
 */
export const logoOf = (d: { logo?: string }): string => d.logo ?? '';

/** Every URL of a scheme that may carry `{{field}}` templates: its API base, OAuth and client-credentials endpoints. */
export function schemeUrls(
  t: { base_url?: string },
  s: { base_url?: string; oauth2?: Partial<OAuth2Details>; client_credentials?: Partial<ClientCredentialsDetails>; oauth1?: Partial<OAuth1Details> },
): string[] {
  const o = s.oauth2;
  return [s.base_url ?? t.base_url, o?.authorization_url, o?.token_url, o?.revocation_url, o?.userinfo_url, s.client_credentials?.token_url, s.oauth1?.request_token_url, s.oauth1?.authorize_url, s.oauth1?.access_token_url].filter((u): u is string => !!u);
}

export function templateNames(template: string): string[] {
  return [...template.matchAll(templateRe)].map((m) => m[1]!);
}
