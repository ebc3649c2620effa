/**
 * DCR_OAUTH / CIMD_OAUTH, step 1: from a protected resource's URL (a remote MCP server) to its
 * authorization server's metadata, in the order the MCP authorization spec (2025-11-25) gives:
 *   1. protected resource metadata (RFC 9728): the `resource_metadata` URL of the resource's
 *      `WWW-Authenticate: Bearer` challenge, else `/.well-known/oauth-protected-resource` with the
 *      resource's path inserted, else at the root;
 *   2. its first `authorization_servers` entry's metadata: RFC 8414 then OpenID Connect Discovery,
 *      path-inserted forms first for an issuer with a path;
 *   3. checks: the document's `resource` is the URL asked about (or a same-origin prefix of it),
 *      the AS metadata's `issuer` is the issuer asked about (RFC 8414 §3.3), PKCE S256 advertised.
 * A missing document is tried at the next location; a malformed or mismatched one is refused
 * (permanent); a 5xx or a network failure stops discovery (transient).
 */
import { checkUrl, type HttpOptions, isTransientStatus, ProviderError, send } from './http.js';

export type ProtectedResourceMetadata = {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
} & Record<string, unknown>;

export type AuthorizationServerMetadata = {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint?: string;
  revocation_endpoint?: string;
  code_challenge_methods_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  client_id_metadata_document_supported?: boolean;
  scopes_supported?: string[];
} & Record<string, unknown>;

export type DiscoveredResource = {
  /** The RFC 8707 `resource` value for the authorize and token requests. */
  resource: string;
  resourceMetadata: ProtectedResourceMetadata;
  authorizationServer: AuthorizationServerMetadata;
  /** Scopes to ask for: the challenge's `scope`, else the resource's `scopes_supported`. */
  scopes: string[];
};

const malformed = (what: string) => new ProviderError('permanent', 'invalid_metadata', what);

/** `Bearer realm="x", resource_metadata="https://...", scope="a b"` → its auth-params (RFC 9110 §11.6.1). */
export function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header) return undefined;
  const m = /(?:^|,)\s*Bearer(?:\s+(.*))?$/i.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/g;
  for (let p = re.exec(m[1] ?? ''); p; p = re.exec(m[1] ?? '')) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return params;
}

/** `/.well-known/<name>` inserted between host and path (RFC 8414 §3.1, RFC 9728 §3.1). */
export function wellKnown(url: URL, name: string, path = url.pathname): string {
  const trimmed = path === '/' ? '' : path.replace(/\/$/, '');
  return `${url.origin}/.well-known/${name}${trimmed}`;
}

/** GET a JSON document; undefined when it is not there (404 and other 4xx), classified otherwise. */
async function getJson(http: HttpOptions, url: string): Promise<Record<string, unknown> | undefined> {
  const res = await send(http, url, { method: 'GET', headers: { accept: 'application/json' } });
  if (isTransientStatus(res.status)) {
    await res.body?.cancel();
    throw new ProviderError('transient', `http_${res.status}`, `${new URL(url).pathname} answered ${res.status}`, res.status);
  }
  if (!res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw malformed(`${new URL(url).pathname} is not JSON`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw malformed(`${new URL(url).pathname} is not a JSON object`);
  return body as Record<string, unknown>;
}

const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
const sameUrl = (a: string, b: string) => a.replace(/\/$/, '') === b.replace(/\/$/, '');

function checkResourceMetadata(doc: Record<string, unknown>, resourceUrl: URL, http: HttpOptions): ProtectedResourceMetadata {
  if (typeof doc.resource !== 'string') throw malformed('protected resource metadata without resource');
  let declared: URL;
  try {
    declared = new URL(doc.resource);
  } catch {
    throw malformed('protected resource metadata: resource is not a URL');
  }
  // RFC 9728 §3.3 / §7.3: metadata about another resource must not be used (it could point the
  // user's credentials at an authorization server of an attacker's choosing).
  const prefix = declared.pathname === '/' || resourceUrl.pathname === declared.pathname || resourceUrl.pathname.startsWith(`${declared.pathname.replace(/\/$/, '')}/`);
  if (declared.origin !== resourceUrl.origin || !prefix) {
    throw new ProviderError('permanent', 'resource_mismatch', 'the protected resource metadata is for another resource');
  }
  if (!strings(doc.authorization_servers) || !(doc.authorization_servers as string[]).length) {
    throw malformed('protected resource metadata without authorization_servers');
  }
  for (const as of doc.authorization_servers as string[]) checkUrl(http, as);
  if (doc.scopes_supported !== undefined && !strings(doc.scopes_supported)) throw malformed('protected resource metadata: scopes_supported is not a list');
  return doc as ProtectedResourceMetadata;
}

/** Where an authorization server's metadata may be, in the order to try. */
export function authorizationServerMetadataUrls(issuer: string): string[] {
  const u = new URL(issuer);
  if (u.pathname === '/' || u.pathname === '') return [wellKnown(u, 'oauth-authorization-server'), wellKnown(u, 'openid-configuration')];
  return [wellKnown(u, 'oauth-authorization-server'), wellKnown(u, 'openid-configuration'), `${u.origin}${u.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`];
}

function checkServerMetadata(doc: Record<string, unknown>, issuer: string, http: HttpOptions): AuthorizationServerMetadata {
  if (typeof doc.issuer !== 'string') throw malformed('authorization server metadata without issuer');
  if (!sameUrl(doc.issuer, issuer)) throw new ProviderError('permanent', 'issuer_mismatch', 'the authorization server metadata names another issuer');
  for (const k of ['authorization_endpoint', 'token_endpoint'] as const) {
    if (typeof doc[k] !== 'string') throw malformed(`authorization server metadata without ${k}`);
    checkUrl(http, doc[k]);
  }
  for (const k of ['registration_endpoint', 'revocation_endpoint'] as const) {
    if (doc[k] === undefined) continue;
    if (typeof doc[k] !== 'string') throw malformed(`authorization server metadata: ${k} is not a URL`);
    checkUrl(http, doc[k]);
  }
  for (const k of ['code_challenge_methods_supported', 'token_endpoint_auth_methods_supported', 'scopes_supported'] as const) {
    if (doc[k] !== undefined && !strings(doc[k])) throw malformed(`authorization server metadata: ${k} is not a list`);
  }
  // MCP: a server that does not advertise S256 gets no authorization request (PKCE is not optional).
  if (!(doc.code_challenge_methods_supported as string[] | undefined)?.includes('S256')) {
    throw new ProviderError('permanent', 'pkce_unsupported', 'the authorization server does not advertise PKCE S256');
  }
  return doc as AuthorizationServerMetadata;
}

export async function fetchAuthorizationServerMetadata(http: HttpOptions, issuer: string): Promise<AuthorizationServerMetadata> {
  checkUrl(http, issuer);
  for (const url of authorizationServerMetadataUrls(issuer)) {
    const doc = await getJson(http, url);
    if (doc) return checkServerMetadata(doc, issuer, http);
  }
  throw new ProviderError('permanent', 'metadata_missing', 'the authorization server publishes no metadata');
}

/** From a resource URL to everything the authorization request needs. */
export async function discoverResource(http: HttpOptions, resource: string): Promise<DiscoveredResource> {
  const resourceUrl = checkUrl(http, resource);
  resourceUrl.hash = '';

  // The resource's own challenge, when it gives one (a redirect here only means no challenge).
  const probe = await send(http, resourceUrl.href, { method: 'GET', headers: { accept: 'application/json, text/event-stream' } }).catch((err: unknown) => {
    if (err instanceof ProviderError && err.error === 'unexpected_redirect') return undefined;
    throw err;
  });
  await probe?.body?.cancel();
  const challenge = probe?.status === 401 ? bearerChallenge(probe.headers.get('www-authenticate')) : undefined;

  let doc: Record<string, unknown> | undefined;
  if (challenge?.resource_metadata) {
    const url = checkUrl(http, challenge.resource_metadata);
    doc = await getJson(http, url.href);
  }
  if (!doc && resourceUrl.pathname !== '/') doc = await getJson(http, wellKnown(resourceUrl, 'oauth-protected-resource'));
  if (!doc) doc = await getJson(http, wellKnown(resourceUrl, 'oauth-protected-resource', '/'));
  if (!doc) throw new ProviderError('permanent', 'metadata_missing', 'the resource publishes no protected resource metadata');

  const resourceMetadata = checkResourceMetadata(doc, resourceUrl, http);
  const authorizationServer = await fetchAuthorizationServerMetadata(http, resourceMetadata.authorization_servers[0]!);
  const scopes = challenge?.scope ? challenge.scope.split(' ').filter(Boolean) : (resourceMetadata.scopes_supported ?? []);
  return { resource: resourceMetadata.resource, resourceMetadata, authorizationServer, scopes };
}
