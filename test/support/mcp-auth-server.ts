/**
 * A remote MCP server and its authorization server on loopback, as the MCP authorization spec
 * describes them:
 * - the resource `/mcp` answers 401 with `WWW-Authenticate: Bearer resource_metadata=..., scope=...`
 *   (or a bare 401) until it gets a token issued for it (audience = its RFC 8707 resource);
 * - RFC 9728 protected resource metadata (path-inserted or at the root);
 * - RFC 8414 metadata (or only OpenID discovery) for an issuer with a path;
 * - RFC 7591 registration, an authorize endpoint that approves at once (302 with code, state and
 *   iss), and a token endpoint that checks client authentication, redirect_uri, PKCE S256 and that
 *   `resource` is the same on the authorize, token and refresh requests;
 * - client ID metadata documents, "fetched" from `cimdDocuments` (a loopback test cannot serve the
 *   https URL a real document lives at).
 * `options` is mutable: each test shapes the server it needs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Answer, type LoopbackRequest, startLoopback } from './loopback.js';

export type McpServerOptions = {
  challenge: 'header' | 'bare' | 'redirect';
  resourceMetadataAt: 'path' | 'root' | 'none';
  /** Overrides the metadata's `resource` (to test a document about another resource). */
  resourceMetadataResource?: string;
  /** Serves a document without authorization_servers. */
  malformedResourceMetadata?: boolean;
  asMetadata: 'oauth' | 'openid' | 'openid-suffix' | 'none' | 'error';
  wrongIssuer?: boolean;
  pkce: boolean;
  registration: 'open' | 'refuse' | 'absent';
  authMethods: string[];
  cimd: boolean;
};

const defaults = (): McpServerOptions => ({
  challenge: 'header',
  resourceMetadataAt: 'path',
  asMetadata: 'oauth',
  pkce: true,
  registration: 'open',
  authMethods: ['client_secret_basic', 'client_secret_post', 'none'],
  cimd: false,
});

type Client = { secret?: string; method: string; redirectUris: string[] };

export async function startMcpAuthServer() {
  const options = defaults();
  const clients = new Map<string, Client>();
  const cimdDocuments = new Map<string, Record<string, unknown>>();
  const codes = new Map<string, { clientId: string; redirectUri: string; challenge: string; resource: string; scope: string }>();
  const tokens = new Map<string, string>(); // access token → resource
  const refreshTokens = new Map<string, { clientId: string; resource: string }>();
  let base = '';
  const issuer = () => `${base}/tenant`;
  const resource = () => `${base}/mcp`;
  const err = (status: number, error: string, description?: string): Answer => ({ status, body: { error, ...(description ? { error_description: description } : {}) } });

  function metadata() {
    const iss = options.wrongIssuer ? `${base}/someone-else` : issuer();
    return {
      issuer: iss,
      authorization_endpoint: `${issuer()}/authorize`,
      token_endpoint: `${issuer()}/token`,
      ...(options.registration !== 'absent' ? { registration_endpoint: `${issuer()}/register` } : {}),
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: options.authMethods,
      ...(options.pkce ? { code_challenge_methods_supported: ['S256'] } : {}),
      authorization_response_iss_parameter_supported: true,
      ...(options.cimd ? { client_id_metadata_document_supported: true } : {}),
    };
  }

  function resourceMetadata(): Answer {
    if (options.malformedResourceMetadata) return { status: 200, body: { resource: resource() } };
    return { status: 200, body: { resource: options.resourceMetadataResource ?? resource(), authorization_servers: [issuer()], scopes_supported: ['mcp:tools', 'mcp:read'] } };
  }

  function client(req: LoopbackRequest): { id: string; c: Client } | undefined {
    let id = req.form.client_id;
    let secret = req.form.client_secret;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) {
      const [u, p] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(p ?? '');
    }
    const c = clients.get(id ?? '') ?? cimdClient(id);
    if (!c) return undefined;
    if (c.method === 'none') return secret ? undefined : { id: id!, c };
    if (c.method === 'client_secret_basic' && !basic) return undefined;
    return secret === c.secret ? { id: id!, c } : undefined;
  }

  function cimdClient(id: string | undefined | null): Client | undefined {
    const doc = id ? cimdDocuments.get(id) : undefined;
    if (!options.cimd || !doc || doc.client_id !== id) return undefined;
    return { method: 'none', redirectUris: doc.redirect_uris as string[] };
  }

  function register(req: LoopbackRequest): Answer {
    if (options.registration === 'refuse') return err(400, 'invalid_client_metadata', 'registration is closed to new clients');
    const body = req.json ?? {};
    const uris = body.redirect_uris;
    if (!Array.isArray(uris) || !uris.length || !uris.every((u) => typeof u === 'string' && URL.canParse(u))) return err(400, 'invalid_redirect_uri');
    const method = typeof body.token_endpoint_auth_method === 'string' ? body.token_endpoint_auth_method : 'client_secret_basic';
    if (!options.authMethods.includes(method)) return err(400, 'invalid_client_metadata', 'unsupported token_endpoint_auth_method');
    const id = `dcr-${randomBytes(6).toString('hex')}`;
    const secret = method === 'none' ? undefined : randomBytes(16).toString('base64url');
    clients.set(id, { secret, method, redirectUris: uris as string[] });
    return { status: 201, body: { ...body, client_id: id, ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}), client_id_issued_at: Math.floor(Date.now() / 1000) } };
  }

  function authorize(req: LoopbackRequest): Answer {
    const q = Object.fromEntries(req.url.searchParams);
    const c = clients.get(q.client_id ?? '') ?? cimdClient(q.client_id);
    if (!c || !c.redirectUris.includes(q.redirect_uri ?? '')) return { status: 400, body: 'unknown client or redirect_uri' };
    const back = new URL(q.redirect_uri!);
    const fail = (e: string) => (back.searchParams.set('error', e), back.searchParams.set('state', q.state ?? ''), { status: 302, headers: { location: back.href } });
    if (q.response_type !== 'code') return fail('unsupported_response_type');
    if (q.code_challenge_method !== 'S256' || !q.code_challenge) return fail('invalid_request');
    if (q.resource !== resource()) return fail('invalid_target');
    const code = randomBytes(12).toString('base64url');
    codes.set(code, { clientId: q.client_id!, redirectUri: q.redirect_uri!, challenge: q.code_challenge, resource: q.resource, scope: q.scope ?? '' });
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.state ?? '');
    back.searchParams.set('iss', issuer());
    return { status: 302, headers: { location: back.href } };
  }

  function issue(clientId: string, res: string, scope: string): Answer {
    const access = `mcp-at-${randomBytes(8).toString('hex')}`;
    const refresh = `mcp-rt-${randomBytes(8).toString('hex')}`;
    tokens.set(access, res);
    refreshTokens.set(refresh, { clientId, resource: res });
    return { status: 200, body: { access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, scope } };
  }

  function token(req: LoopbackRequest): Answer {
    const who = client(req);
    if (!who) return { status: 401, body: { error: 'invalid_client' } };
    const f = req.form;
    if (f.grant_type === 'authorization_code') {
      const c = codes.get(f.code ?? '');
      codes.delete(f.code ?? '');
      if (!c || c.clientId !== who.id || c.redirectUri !== f.redirect_uri) return err(400, 'invalid_grant');
      if (createHash('sha256').update(f.code_verifier ?? '').digest('base64url') !== c.challenge) return err(400, 'invalid_grant', 'PKCE verification failed');
      if (f.resource !== c.resource) return err(400, 'invalid_target', 'resource differs from the authorization request');
      return issue(who.id, c.resource, c.scope);
    }
    if (f.grant_type === 'refresh_token') {
      const r = refreshTokens.get(f.refresh_token ?? '');
      if (!r || r.clientId !== who.id) return err(400, 'invalid_grant');
      if (f.resource !== r.resource) return err(400, 'invalid_target');
      refreshTokens.delete(f.refresh_token!);
      return issue(who.id, r.resource, '');
    }
    return err(400, 'unsupported_grant_type');
  }

  const server = await startLoopback((req, b) => {
    base = b;
    const p = req.url.pathname;
    const prmPath = '/.well-known/oauth-protected-resource/mcp';
    if (p === '/mcp') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (bearer && tokens.get(bearer) === resource()) return { status: 200, body: { jsonrpc: '2.0', result: {} } };
      if (options.challenge === 'redirect') return { status: 307, headers: { location: `${base}/login` } };
      const header = options.challenge === 'header' ? `Bearer error="invalid_token", resource_metadata="${base}${prmPath}", scope="mcp:tools"` : 'Bearer';
      return { status: 401, headers: { 'www-authenticate': header }, body: { error: 'unauthorized' } };
    }
    if (p === prmPath && options.resourceMetadataAt === 'path') return resourceMetadata();
    if (p === '/.well-known/oauth-protected-resource' && options.resourceMetadataAt === 'root') return resourceMetadata();
    if (options.asMetadata === 'error' && p.startsWith('/.well-known/oauth-authorization-server')) return { status: 503, body: 'maintenance' };
    if (p === '/.well-known/oauth-authorization-server/tenant' && options.asMetadata === 'oauth') return { status: 200, body: metadata() };
    if (p === '/.well-known/openid-configuration/tenant' && options.asMetadata === 'openid') return { status: 200, body: metadata() };
    if (p === '/tenant/.well-known/openid-configuration' && options.asMetadata === 'openid-suffix') return { status: 200, body: metadata() };
    if (p === '/tenant/register' && req.method === 'POST' && options.registration !== 'absent') return register(req);
    if (p === '/tenant/authorize') return authorize(req);
    if (p === '/tenant/token' && req.method === 'POST') return token(req);
    return { status: 404, body: { error: 'not_found' } };
  });
  base = server.url;
  const reset = () => {
    for (const k of Object.keys(options)) delete (options as Partial<McpServerOptions>)[k as keyof McpServerOptions];
    Object.assign(options, defaults());
  };
  /** The server forgets every registered client (a reset, or a registration that was revoked). */
  const forgetClients = () => clients.clear();
  return { ...server, options, resource: resource(), issuer: issuer(), cimdDocuments, reset, forgetClients, registeredClients: () => clients.size };
}
export type McpAuthServer = Awaited<ReturnType<typeof startMcpAuthServer>>;
