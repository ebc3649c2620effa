/**
 * DCR_OAUTH / CIMD_OAUTH, step 2: how Latchkey gets a client_id at an authorization server it has
 * never met. The MCP spec's order: a pre-registered client (the auth config's own credentials),
 * else a Client ID Metadata Document when the server advertises
 * `client_id_metadata_document_supported` (the client_id is an https URL Latchkey serves, whose
 * JSON is `clientIdMetadataDocument()`), else Dynamic Client Registration (RFC 7591) at the
 * server's `registration_endpoint`. A server offering none of these cannot be connected.
 */
import { type HttpOptions, ProviderError, readFields, refusal, send } from './http.js';
import type { AuthorizationServerMetadata } from './resource-discovery.js';

export type RegistrationStrategy = 'pre_registered' | 'client_id_metadata_document' | 'dynamic_registration';

export function chooseRegistration(as: Pick<AuthorizationServerMetadata, 'client_id_metadata_document_supported' | 'registration_endpoint'>, has: { preRegistered: boolean; metadataDocumentUrl: boolean }): RegistrationStrategy {
  if (has.preRegistered) return 'pre_registered';
  if (has.metadataDocumentUrl && as.client_id_metadata_document_supported === true) return 'client_id_metadata_document';
  if (as.registration_endpoint) return 'dynamic_registration';
  throw new ProviderError('permanent', 'registration_unsupported', 'the authorization server offers no way to register a client');
}

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/**
 * Latchkey keeps secrets safely, so it registers as a confidential client where it may: basic
 * (RFC 8414's default when the server lists nothing), else post, else a public client.
 */
export function preferredAuthMethod(as: Pick<AuthorizationServerMetadata, 'token_endpoint_auth_methods_supported'>): TokenEndpointAuthMethod {
  const supported = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (supported.includes('client_secret_basic')) return 'client_secret_basic';
  if (supported.includes('client_secret_post')) return 'client_secret_post';
  return 'none';
}

/** What DCR_OAUTH keeps of a registration (contract §2.3: client_id, client_secret?, the two numbers). */
export type RegisteredClient = {
  client_id: string;
  client_secret?: string;
  client_id_issued_at?: number;
  client_secret_expires_at?: number;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
};

export type RegistrationRequest = {
  redirectUris: string[];
  clientName: string;
  scopes?: string[];
  clientUri?: string;
};

export async function registerClient(http: HttpOptions, as: Pick<AuthorizationServerMetadata, 'registration_endpoint' | 'token_endpoint_auth_methods_supported'>, req: RegistrationRequest): Promise<RegisteredClient> {
  if (!as.registration_endpoint) throw new ProviderError('permanent', 'registration_unsupported', 'the authorization server has no registration endpoint');
  const method = preferredAuthMethod(as);
  const metadata: Record<string, unknown> = {
    redirect_uris: req.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: method,
    client_name: req.clientName,
    ...(req.scopes?.length ? { scope: req.scopes.join(' ') } : {}),
    ...(req.clientUri ? { client_uri: req.clientUri } : {}),
  };
  const res = await send(http, as.registration_endpoint, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const fields = await readFields(res);
  if (!res.ok) {
    const err = refusal(res.status, fields);
    // RFC 7591 §3.2.2: invalid_redirect_uri, invalid_client_metadata, ... (or a bare 401/403 for
    // servers that want an initial access token): the server will not register this client.
    throw err.kind === 'transient' ? err : new ProviderError('permanent', 'registration_refused', err.description ?? err.error, res.status);
  }
  if (!fields || typeof fields.client_id !== 'string' || !fields.client_id) {
    throw new ProviderError('permanent', 'invalid_registration_response', 'the registration response has no client_id');
  }
  const registeredMethod = typeof fields.token_endpoint_auth_method === 'string' ? fields.token_endpoint_auth_method : method;
  if (!['client_secret_basic', 'client_secret_post', 'none'].includes(registeredMethod)) {
    throw new ProviderError('permanent', 'invalid_registration_response', 'the server registered an unsupported token_endpoint_auth_method');
  }
  if (registeredMethod !== 'none' && typeof fields.client_secret !== 'string') {
    throw new ProviderError('permanent', 'invalid_registration_response', 'a confidential client was registered without a client_secret');
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    client_id: fields.client_id,
    ...(typeof fields.client_secret === 'string' ? { client_secret: fields.client_secret } : {}),
    ...(num(fields.client_id_issued_at) !== undefined ? { client_id_issued_at: num(fields.client_id_issued_at) } : {}),
    ...(num(fields.client_secret_expires_at) !== undefined ? { client_secret_expires_at: num(fields.client_secret_expires_at) } : {}),
    token_endpoint_auth_method: registeredMethod as TokenEndpointAuthMethod,
  };
}

/**
 * A client_id that is its own metadata URL must be https, with a path, and nothing an authorization
 * server would have to normalise (draft-ietf-oauth-client-id-metadata-document §3).
 */
export function checkMetadataDocumentUrl(clientId: string): URL {
  const u = new URL(clientId);
  // `href !== clientId`: dot segments, an upper-case host, a default port... anything URL parsing rewrites.
  if (u.protocol !== 'https:' || u.pathname === '/' || u.hash || u.username || u.password || u.href !== clientId) {
    throw new Error('a client ID metadata document URL must be https, with a path, no fragment, credentials or dot segments');
  }
  return u;
}

/** The JSON Latchkey serves at the client_id URL: a public client using PKCE. */
export function clientIdMetadataDocument(doc: { clientId: string; clientName: string; redirectUris: string[]; clientUri?: string; logoUri?: string }) {
  checkMetadataDocumentUrl(doc.clientId);
  return {
    client_id: doc.clientId,
    client_name: doc.clientName,
    redirect_uris: doc.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...(doc.clientUri ? { client_uri: doc.clientUri } : {}),
    ...(doc.logoUri ? { logo_uri: doc.logoUri } : {}),
  };
}
