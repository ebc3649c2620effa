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

const slugRe = /^[a-z0-9][a-z0-9_-]{0,62}$/;
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

export const OAuth2DetailsSchema = z
  .object({
    authorization_url: httpsUrl,
    token_url: httpsUrl,
    /** RFC 7009 revocation endpoint, where the provider has one. */
    revocation_url: httpsUrl.optional(),
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

export const AuthSchemeDefinitionSchema = z
  .object({
    mode: AuthSchemeSchema,
    /** Display name of the method, e.g. "GitHub OAuth App". */
    name: z.string().min(1).max(120),
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
    /** How the credential goes on a request to `base_url`. */
    request_auth: z.array(RequestAuthSchema).max(10).default([]),
    /** Overrides the toolkit's base_url for this scheme. */
    base_url: z.string().max(2000).optional(),
    auth_hint_url: httpsUrl.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.mode === 'OAUTH2' && !s.oauth2) {
      ctx.addIssue({ code: 'custom', message: `${s.mode} scheme needs oauth2 details`, path: ['oauth2'] });
    }
    // DCR_OAUTH / CIMD_OAUTH need no endpoints: they are discovered from the auth config's MCP server URL.
    if (s.mode === 'OAUTH1' && !s.oauth1) {
      ctx.addIssue({ code: 'custom', message: 'OAUTH1 scheme needs oauth1 details', path: ['oauth1'] });
    }
    const names = [...s.fields.auth_config_creation, ...s.fields.connected_account_initiation].map((f) => f.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `field ${dup} is declared twice`, path: ['fields'] });
  });
export type AuthSchemeDefinition = z.infer<typeof AuthSchemeDefinitionSchema>;

export const ToolkitDefinitionSchema = z
  .object({
    slug: z.string().regex(slugRe, 'lower-case letters, digits, _ and -'),
    name: z.string().min(1).max(120),
    description: z.string().min(1).max(1000),
    logo: httpsUrl,
    app_url: httpsUrl,
    /** The provider documentation this entry was checked against. */
    docs_url: httpsUrl,
    categories: z
      .array(z.object({ slug: z.string().regex(slugRe), name: z.string().min(1).max(80) }).strict())
      .min(1)
      .max(10),
    /** API base URL; may use templates over user fields, e.g. https://{{subdomain}}.zendesk.com/api/v2 */
    base_url: z.string().max(2000),
    /**
     * Latchkey extension: further hosts the provider's API lives on (an upload host), where the
     * proxy may also send the account's credential. Exact host names, no templates.
     */
    api_hosts: z
      .array(z.string().regex(/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/, 'a lower-case host name'))
      .max(10)
      .optional(),
    auth_schemes: z.array(AuthSchemeDefinitionSchema).max(10),
    /** How the entry's facts were checked (the catalogue format's verification block). */
    verification: z
      .object({
        status: z.enum(['verified', 'unverified']),
        checked_on: z.iso.date().optional(),
        sources: z.array(httpsUrl).max(20).default([]),
        note: z.string().min(1).max(500).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const modes = t.auth_schemes.map((s) => s.mode);
    if (new Set(modes).size !== modes.length) {
      ctx.addIssue({ code: 'custom', message: 'each auth scheme may appear once', path: ['auth_schemes'] });
    }
    // Every template placeholder in a URL must be a declared field with a pattern, so that a
    // user-supplied value can never move the URL to another host.
    t.auth_schemes.forEach((s, i) => {
      const fields = new Map(
        [...s.fields.auth_config_creation, ...s.fields.connected_account_initiation].map((f) => [f.name, f]),
      );
      const urls = [s.base_url ?? t.base_url, s.oauth2?.authorization_url, s.oauth2?.token_url, s.oauth2?.revocation_url, s.oauth1?.request_token_url, s.oauth1?.authorize_url, s.oauth1?.access_token_url];
      for (const url of urls) {
        for (const name of templateNames(url ?? '')) {
          const f = fields.get(name);
          if (!f) ctx.addIssue({ code: 'custom', message: `template {{${name}}} is not a field of ${s.mode}`, path: ['auth_schemes', i] });
          else if (!f.pattern) ctx.addIssue({ code: 'custom', message: `field ${name} is used in a URL and needs a pattern`, path: ['auth_schemes', i] });
        }
      }
    });
  });
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
    const at1 = `auth_schemes.${i}.oauth1`;
    return [
      s.oauth2 && { path: `${at}.token_url`, url: s.oauth2.token_url },
      s.oauth2?.revocation_url && { path: `${at}.revocation_url`, url: s.oauth2.revocation_url },
      s.oauth1 && { path: `${at1}.request_token_url`, url: s.oauth1.request_token_url },
      s.oauth1 && { path: `${at1}.access_token_url`, url: s.oauth1.access_token_url },
    ].filter((u): u is { path: string; url: string } => !!u);
  });
}

export function templateNames(template: string): string[] {
  return [...template.matchAll(templateRe)].map((m) => m[1]!);
}
