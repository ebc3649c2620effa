/**
 * DCR_OAUTH and CIMD_OAUTH: connecting a remote MCP server (or any OAuth-protected resource) by its
 * URL, over the protocol pieces in auth-modes/ (discovery, registration, code + PKCE + resource).
 *
 * - The auth config names the server: `credentials.mcp_url` (and optionally its own `client_id` /
 *   `client_secret`, `scopes`, `oauth_redirect_uri`).
 * - start: discovery (RFC 9728 → RFC 8414 / OpenID), then the client: the auth config's own, else
 *   for CIMD_OAUTH Latchkey's client ID metadata document URL (`/oauth/client-metadata/{id}.json`,
 *   needs an https PUBLIC_URL and a server that advertises it), else for DCR_OAUTH a registration
 *   (RFC 7591) cached per project, authorization server and redirect URI (secret sealed), reused by
 *   every account and made again when the cached one nears its `client_secret_expires_at`.
 *   Then the authorize URL with PKCE S256 and `resource` (RFC 8707).
 * - The account keeps, non-secret, what a refresh needs without rediscovery: `resource`, `issuer`,
 *   `authorization_endpoint`, `token_endpoint`, and the client's `client_id` (contract §2.3) with
 *   `client_id_issued_at` / `client_secret_expires_at`; never the client secret.
 * - complete / refresh: code (or refresh token) for tokens with the same `resource`. A server that
 *   answers `invalid_client` has forgotten the registration: it is dropped from the cache, so the
 *   next connection (or re-authorisation) registers again.
 */
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { sealedValues } from '../../lib/sealed.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import { checkMetadataDocumentUrl, chooseRegistration, clientIdMetadataDocument, preferredAuthMethod, registerClient, type RegisteredClient } from '../auth-modes/client-registration.js';
import type { HttpOptions } from '../auth-modes/http.js';
import { type AuthorizationClient, exchangeResourceCode, refreshResourceToken, resourceAuthorizationUrl, resourceClientConfig } from '../auth-modes/resource-authorization.js';
import { type AuthorizationServerMetadata, discoverResource } from '../auth-modes/resource-discovery.js';
import type { Change } from '../connected-accounts/account-store.js';
import { SECRET_NAME } from '../toolkits/fields.js';
import { ProviderError } from './oauth-client.js';
import { type RedirectStrategy, splitScopes } from './redirect-strategy.js';
import type { RegisteredClientRow, RegisteredClientsRepository } from './registered-clients.repository.js';

type Val = Record<string, unknown>;

export const CLIENT_METADATA_PATH = '/oauth/client-metadata';
const TOKEN_FIELDS = ['access_token', 'refresh_token', 'id_token', 'token_type', 'expires_in', 'scope', 'expires_at'];
const TRANSIENT_FIELDS = ['redirectUrl', 'error', 'error_description', 'expired_at', 'revoked_at'];
const SECRET_FIELDS = ['access_token', 'refresh_token', 'id_token'];
/** A cached registration whose secret expires within this is replaced before use. */
const SECRET_EXPIRY_MARGIN_S = 300;

type ClientChoice = AuthorizationClient & Pick<RegisteredClient, 'client_id_issued_at' | 'client_secret_expires_at'> & { cached: boolean };

export function mcpStrategy(deps: {
  repo: RegisteredClientsRepository;
  crypto: Pick<Crypto, 'seal' | 'open'>;
  openConfigCredentials: (row: AuthConfigRow) => Record<string, unknown>;
  http: HttpOptions;
  publicUrl: string;
  callbackUrl: (cfg: AuthConfigRow) => string;
  clientName: string;
}) {
  const sealed = sealedValues(deps.crypto);

  /** The client ID metadata document URL of an auth config (its own client_id under CIMD). */
  const metadataDocumentUrl = (cfg: Pick<AuthConfigRow, 'id'>) => `${deps.publicUrl}${CLIENT_METADATA_PATH}/${cfg.id}.json`;

  function mcpUrlOf(cfg: AuthConfigRow): string {
    const url = deps.openConfigCredentials(cfg).mcp_url;
    if (typeof url !== 'string' || !url) {
      throw new AppError('AuthConfig_InvalidRequest', `Auth config ${cfg.id} names no MCP server`, { suggestedFix: 'PATCH the auth config with credentials.mcp_url' });
    }
    return url;
  }

  /** The auth config's own client, if it brought one. */
  function preRegistered(cfg: AuthConfigRow, as: Pick<AuthorizationServerMetadata, 'token_endpoint_auth_methods_supported'>): ClientChoice | undefined {
    const c = deps.openConfigCredentials(cfg);
    if (typeof c.client_id !== 'string' || !c.client_id) return undefined;
    const secret = typeof c.client_secret === 'string' && c.client_secret ? c.client_secret : undefined;
    const method = secret ? preferredAuthMethod(as) : 'none';
    return { client_id: c.client_id, client_secret: method === 'none' ? undefined : secret, token_endpoint_auth_method: method, cached: false };
  }

  function cimdClient(cfg: AuthConfigRow): ClientChoice {
    const clientId = metadataDocumentUrl(cfg);
    try {
      checkMetadataDocumentUrl(clientId);
    } catch {
      throw new AppError('ConnectedAccount_NotSupported', 'CIMD_OAUTH needs Latchkey to be reachable over https (PUBLIC_URL): the client ID is a URL the authorization server fetches', {
        suggestedFix: 'Set PUBLIC_URL to the https address of this server, or use DCR_OAUTH',
      });
    }
    return { client_id: clientId, token_endpoint_auth_method: 'none', cached: false };
  }

  const fromRow = (row: RegisteredClientRow): ClientChoice => ({
    client_id: row.clientId,
    client_secret: row.clientSecret ? sealed.open('registeredClientSecret', row.projectId, row.id, row.clientSecret) : undefined,
    token_endpoint_auth_method: row.tokenEndpointAuthMethod as ClientChoice['token_endpoint_auth_method'],
    client_id_issued_at: row.clientIdIssuedAt ?? undefined,
    client_secret_expires_at: row.clientSecretExpiresAt ?? undefined,
    cached: true,
  });

  /** A DCR client for this project and server: the cached one while its secret lives, else a new registration. */
  async function registered(cfg: AuthConfigRow, as: AuthorizationServerMetadata, redirectUri: string, scopes: string[]): Promise<ClientChoice> {
    const row = await deps.repo.find(cfg.projectId, as.issuer, redirectUri);
    const now = Math.floor(Date.now() / 1000);
    if (row && !(row.clientSecretExpiresAt && row.clientSecretExpiresAt < now + SECRET_EXPIRY_MARGIN_S)) return fromRow(row);
    if (row) await deps.repo.forget(cfg.projectId, as.issuer, redirectUri, row.clientId);
    const client = await registerClient(deps.http, as, { redirectUris: [redirectUri], clientName: deps.clientName, scopes, clientUri: deps.publicUrl });
    const id = newId('registeredClient');
    const added = await deps.repo.add({
      id,
      projectId: cfg.projectId,
      issuer: as.issuer,
      redirectUri,
      clientId: client.client_id,
      clientSecret: client.client_secret ? sealed.seal('registeredClientSecret', cfg.projectId, id, client.client_secret) : null,
      tokenEndpointAuthMethod: client.token_endpoint_auth_method,
      clientIdIssuedAt: client.client_id_issued_at ?? null,
      clientSecretExpiresAt: client.client_secret_expires_at ?? null,
      serverMetadata: as,
    });
    if (added) return { ...client, cached: false };
    // Another connection registered at the same moment: every account shares that one.
    const winner = await deps.repo.find(cfg.projectId, as.issuer, redirectUri);
    if (!winner) throw new ProviderError('transient', 'registration_conflict', 'a concurrent registration was replaced; retry');
    return fromRow(winner);
  }

  /** The client an account was connected with, from the auth config or the cache; undefined when it is gone. */
  async function clientOf(cfg: AuthConfigRow, val: Val, redirectUri: string): Promise<AuthorizationClient | undefined> {
    const clientId = String(val.client_id ?? '');
    const own = preRegistered(cfg, { token_endpoint_auth_methods_supported: val.token_endpoint_auth_method ? [String(val.token_endpoint_auth_method)] : undefined });
    if (own?.client_id === clientId) return own;
    if (cfg.authScheme === 'CIMD_OAUTH' && clientId === metadataDocumentUrl(cfg)) return { client_id: clientId, token_endpoint_auth_method: 'none' };
    const row = await deps.repo.find(cfg.projectId, String(val.issuer ?? ''), redirectUri);
    return row && row.clientId === clientId ? fromRow(row) : undefined;
  }

  /** The client ID metadata document served for a CIMD_OAUTH auth config; undefined when PUBLIC_URL is not https. */
  function metadataDocument(cfg: AuthConfigRow) {
    try {
      return clientIdMetadataDocument({ clientId: metadataDocumentUrl(cfg), clientName: deps.clientName, redirectUris: [deps.callbackUrl(cfg)], clientUri: deps.publicUrl });
    } catch {
      return undefined;
    }
  }

  /** What the account kept of the server: enough for the token endpoint, no rediscovery. */
  const serverOf = (val: Val): AuthorizationServerMetadata => ({
    issuer: String(val.issuer ?? ''),
    authorization_endpoint: String(val.authorization_endpoint ?? ''),
    token_endpoint: String(val.token_endpoint ?? ''),
    code_challenge_methods_supported: ['S256'],
  });

  const userFields = (val: Val) => Object.fromEntries(Object.entries(val).filter(([k]) => !TOKEN_FIELDS.includes(k) && !TRANSIENT_FIELDS.includes(k)));

  function tokenChange(base: Val, tokens: Record<string, unknown>, keepRefresh?: unknown): Change {
    const val: Val = { ...userFields(base), ...tokens };
    if (val.refresh_token === undefined && keepRefresh !== undefined) val.refresh_token = keepRefresh;
    const expiresAt = typeof tokens.expires_at === 'string' ? new Date(tokens.expires_at) : null;
    return {
      val,
      secretKeys: Object.keys(val).filter((k) => SECRET_FIELDS.includes(k) || SECRET_NAME.test(k)),
      tokenExpiresAt: expiresAt,
      refreshFailures: 0,
      nextRefreshAt: null,
    };
  }

  /** A rejected client is forgotten, so that the next connection registers again. */
  async function forgetIfRejected(err: unknown, cfg: AuthConfigRow, val: Val, redirectUri: string) {
    if (err instanceof ProviderError && err.error === 'invalid_client' && cfg.authScheme === 'DCR_OAUTH') {
      await deps.repo.forget(cfg.projectId, String(val.issuer ?? ''), redirectUri, String(val.client_id ?? ''));
    }
  }

  const strategy: RedirectStrategy & { metadataDocumentUrl: typeof metadataDocumentUrl; metadataDocument: typeof metadataDocument } = {
    metadataDocumentUrl,
    metadataDocument,

    async start({ cfg, values, state, codeVerifier, callbackUrl }) {
      const mcpUrl = mcpUrlOf(cfg);
      const redirectUri = deps.callbackUrl(cfg);
      const found = await discoverResource(deps.http, mcpUrl);
      const as = found.authorizationServer;
      const scopes = splitScopes(deps.openConfigCredentials(cfg).scopes) ?? found.scopes;
      const own = preRegistered(cfg, as);
      const strategyName = own
        ? 'pre_registered'
        : cfg.authScheme === 'CIMD_OAUTH'
          ? chooseRegistration({ ...as, registration_endpoint: undefined }, { preRegistered: false, metadataDocumentUrl: true })
          : chooseRegistration({ ...as, client_id_metadata_document_supported: false }, { preRegistered: false, metadataDocumentUrl: false });
      const client = own ?? (strategyName === 'client_id_metadata_document' ? cimdClient(cfg) : await registered(cfg, as, redirectUri, scopes));
      const config = resourceClientConfig(deps.http, as, client);
      const url = await resourceAuthorizationUrl(config, { redirectUri, state, codeVerifier, scopes, resource: found.resource });
      return {
        authorizeUrl: url,
        val: {
          ...values,
          redirectUrl: url,
          ...(callbackUrl ? { callback_url: callbackUrl } : {}),
          client_id: client.client_id,
          ...(client.client_id_issued_at !== undefined ? { client_id_issued_at: client.client_id_issued_at } : {}),
          ...(client.client_secret_expires_at !== undefined ? { client_secret_expires_at: client.client_secret_expires_at } : {}),
          token_endpoint_auth_method: client.token_endpoint_auth_method,
          mcp_url: mcpUrl,
          resource: found.resource,
          issuer: as.issuer,
          authorization_endpoint: as.authorization_endpoint,
          token_endpoint: as.token_endpoint,
          ...(scopes.length ? { requested_scopes: scopes } : {}),
        },
        secretKeys: [],
        redirectUri,
        usesVerifier: true,
      };
    },

    async authorizationEndpoint(cfg) {
      return (await discoverResource(deps.http, mcpUrlOf(cfg))).authorizationServer.authorization_endpoint;
    },

    async complete({ cfg, val, query, redirectUri, state, codeVerifier }) {
      const client = await clientOf(cfg, val, redirectUri);
      if (!client) throw new ProviderError('permanent', 'invalid_client', 'the client this connection started with is no longer registered');
      const current = new URL(redirectUri);
      for (const [k, v] of Object.entries(query)) if (v !== undefined) current.searchParams.set(k, v);
      try {
        const tokens = await exchangeResourceCode(resourceClientConfig(deps.http, serverOf(val), client), current, { state, codeVerifier: codeVerifier ?? '', resource: String(val.resource) });
        return tokenChange(val, tokens);
      } catch (err) {
        await forgetIfRejected(err, cfg, val, redirectUri);
        throw err;
      }
    },

    async refresh({ cfg, val, refreshToken }) {
      const redirectUri = deps.callbackUrl(cfg);
      const client = await clientOf(cfg, val, redirectUri);
      if (!client) throw new ProviderError('permanent', 'invalid_client', 'the client this connection was made with is no longer registered');
      try {
        const tokens = await refreshResourceToken(resourceClientConfig(deps.http, serverOf(val), client), refreshToken, String(val.resource));
        return tokenChange(val, tokens, refreshToken);
      } catch (err) {
        await forgetIfRejected(err, cfg, val, redirectUri);
        throw err;
      }
    },
  };
  return strategy;
}
export type McpStrategy = ReturnType<typeof mcpStrategy>;
