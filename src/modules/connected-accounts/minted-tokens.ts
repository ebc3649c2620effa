/**
 * Accounts whose tokens Latchkey mints itself, with no user at a browser: S2S_OAUTH2 (the client
 * credentials grant), GOOGLE_SERVICE_ACCOUNT (a key file and the JWT bearer grant) and
 * SERVICE_ACCOUNT (a GitHub App's key and an installation). The protocols are in
 * src/modules/auth-modes; this file decides what each scheme sends, from the toolkit, the auth
 * config and the account, and what the account keeps.
 *
 * - Creating such an account mints at once (the caller writes ACTIVE with the token, or FAILED
 *   with the provider's refusal); re-minting near expiry runs under the OAuth2 refresh machinery
 *   (oauth.service: single flight in-process, the refresh lease across replicas, backoff), which
 *   calls `renew` here instead of a refresh-token request.
 * - Every request goes through the egress guard's fetch: a key file's `token_uri`, an auth
 *   config's `api_base_url` and a project's toolkit are all data someone supplied, and the guard
 *   costs nothing for the built-in catalogue's public hosts.
 * - Nothing here writes: it returns the account's next fields, and the store writes them.
 */
import { AppError } from '../../lib/errors.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import { clientCredentialsToken } from '../auth-modes/client-credentials.js';
import { GITHUB_API, installationToken, parseGitHubApp } from '../auth-modes/github-app.js';
import { parseServiceAccount, serviceAccountToken } from '../auth-modes/google-service-account.js';
import { type Fetch, type HttpOptions, ProviderError, type TokenResponse } from '../auth-modes/http.js';
import { EgressRefusedError } from '../egress/egress.js';
import type { AuthSchemeDefinition } from '../toolkits/toolkit-definition.js';
import { templateNames } from '../toolkits/toolkit-definition.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import { fill } from './auth-params.js';
import { STATUS_REASONS } from './state-machine.js';

type Val = Record<string, unknown>;

export const MINTED_SCHEMES = ['S2S_OAUTH2', 'GOOGLE_SERVICE_ACCOUNT', 'SERVICE_ACCOUNT'] as const;
export type MintedScheme = (typeof MINTED_SCHEMES)[number];
export const isMintedScheme = (scheme: string): scheme is MintedScheme => (MINTED_SCHEMES as readonly string[]).includes(scheme);

/** Fields a mint writes (replaced wholesale by the next one); everything else is the account's own. */
const MINTED_FIELDS = ['access_token', 'token_type', 'expires_in', 'expires_at', 'scope', 'permissions', 'repository_selection', 'error', 'error_description', 'expired_at'];
/** Minted fields that are secrets (masked, and never logged). */
const MINTED_SECRETS = ['access_token'];

export type MintSettings = {
  /** The OAuth egress guard's fetch (loopback only under OAUTH_ALLOW_INSECURE_LOOPBACK). */
  guardedFetch: (url: string, init: RequestInit) => Promise<Response>;
  allowInsecureLoopback: boolean;
  timeoutMs: number;
};

/** The account's next fields after a mint, as the store's Change takes them. */
export type Minted = { val: Val; secretKeys: string[]; tokenExpiresAt: Date | null; refreshFailures: 0; nextRefreshAt: null };

/** A new account's first token: ACTIVE with it, or FAILED with the provider's refusal. */
export type FirstToken = Minted & { status: 'ACTIVE' | 'FAILED'; reason: string | null };

/** A request the caller must fix (400): a missing or malformed field, named, never its value. */
export class MintInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'MintInputError';
  }
}

/** A provider's error code as we repeat it (never free text). */
const codeOf = (error: string) => (/^[A-Za-z0-9_.-]{1,64}$/.test(error) ? error : 'provider_error');

/** What a failed first mint answers: 400 for an incomplete request, 502 for a provider that cannot answer now. */
export function mintError(err: unknown): unknown {
  if (err instanceof MintInputError) {
    return new AppError('ConnectedAccount_InvalidRequest', `A token cannot be requested: ${err.message}`, { errors: err.problems });
  }
  if (err instanceof ProviderError && err.kind === 'transient') {
    return new AppError('ConnectedAccount_ProviderError', `The provider could not issue a token now (${codeOf(err.error)}); nothing was connected`, {
      suggestedFix: 'Retry the request',
    });
  }
  return err;
}

/** GitHub ids passed as numbers are kept as the strings the contract gives them. */
export function normaliseAccountFields(scheme: string, val: Val): Val {
  const out = { ...val };
  if (scheme === 'SERVICE_ACCOUNT') {
    for (const k of ['application_id', 'installation_id']) if (typeof out[k] === 'number' && Number.isSafeInteger(out[k])) out[k] = String(out[k]);
  }
  return out;
}

const splitScopes = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' && v.trim() ? v.split(/[\s,]+/).filter(Boolean) : undefined;
const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
const present = (v: unknown) => (typeof v === 'string' ? !!v.trim() : typeof v === 'number');

/** The account's own fields: what it was created with, without the last mint's output. */
export const ownFields = (val: Val): Val => Object.fromEntries(Object.entries(val).filter(([k]) => !MINTED_FIELDS.includes(k)));

export function mintedTokens(deps: {
  toolkits: Pick<ToolkitsService, 'resolve'>;
  openConfigCredentials: (row: AuthConfigRow) => Val;
  settings: MintSettings;
}) {
  const { settings } = deps;
  // An egress refusal is a property of the URL, not a passing fault: permanent.
  const fetch: Fetch = async (url, init) => {
    try {
      return await settings.guardedFetch(url, init);
    } catch (err) {
      if (err instanceof EgressRefusedError) throw new ProviderError('permanent', 'egress_refused', 'the endpoint resolves to an address Latchkey does not call');
      throw err;
    }
  };
  const http: HttpOptions = { fetch, timeoutMs: settings.timeoutMs, allowInsecureLoopback: settings.allowInsecureLoopback };

  /** What is wrong with an account's fields before anything is sent (empty when nothing). */
  function check(scheme: string, val: Val): string[] {
    if (scheme === 'GOOGLE_SERVICE_ACCOUNT') {
      if (typeof val.credentials_json !== 'string') return ['credentials_json: the service account key file (JSON) is required'];
      const parsed = parseServiceAccount(val.credentials_json, http);
      return parsed.ok ? [] : parsed.errors;
    }
    if (scheme === 'SERVICE_ACCOUNT') {
      const parsed = parseGitHubApp(val);
      return parsed.ok ? [] : parsed.errors;
    }
    return [];
  }

  async function definitionOf(projectId: string, toolkitSlug: string, mode: string): Promise<AuthSchemeDefinition | undefined> {
    const toolkit = await deps.toolkits.resolve(projectId, toolkitSlug);
    return toolkit.definition.auth_schemes.find((s) => s.mode === mode);
  }

  async function clientCredentials(def: AuthSchemeDefinition | undefined, cfg: Val, val: Val): Promise<TokenResponse> {
    const details = def?.client_credentials;
    if (!details) throw new MintInputError([`the toolkit's S2S_OAUTH2 scheme has no token_url`]);
    // The account's own client (when the toolkit asks each account for one) wins over the config's.
    const values = { ...cfg, ...val };
    const clientId = text(values.client_id);
    const clientSecret = text(values.client_secret);
    const missing = templateNames(details.token_url).filter((n) => !present(values[n]));
    if (!clientId) missing.push('client_id');
    if (!clientSecret) missing.push('client_secret');
    if (missing.length || !clientId || !clientSecret) throw new MintInputError(missing.map((n) => `${n}: required (in the auth config's credentials or the connection's fields)`));
    const method = cfg.token_endpoint_auth_method === 'client_secret_post' || cfg.token_endpoint_auth_method === 'client_secret_basic' ? cfg.token_endpoint_auth_method : details.token_endpoint_auth_method;
    return clientCredentialsToken(http, {
      tokenUrl: fill(details.token_url, values),
      clientId,
      clientSecret,
      authMethod: method,
      scopes: splitScopes(cfg.scopes) ?? details.default_scopes,
      scopeSeparator: details.scope_separator,
      audience: text(cfg.audience) ?? details.audience,
      resource: text(cfg.resource) ?? details.resource,
      extraParams: Object.fromEntries(Object.entries(details.token_params).map(([k, v]) => [k, fill(v, values)])),
    });
  }

  async function googleServiceAccount(def: AuthSchemeDefinition | undefined, cfg: Val, val: Val): Promise<TokenResponse> {
    const parsed = typeof val.credentials_json === 'string' ? parseServiceAccount(val.credentials_json, http) : undefined;
    if (!parsed?.ok) throw new MintInputError(parsed?.errors ?? ['credentials_json: required']);
    const scopes = splitScopes(cfg.scopes) ?? def?.service_account?.default_scopes ?? [];
    if (!scopes.length) throw new MintInputError(['scopes: the auth config (or the toolkit) must name the scopes to request']);
    const subject = text(val.subject) ?? text(cfg.subject);
    return serviceAccountToken(http, parsed.account, { scopes, ...(subject ? { subject } : {}) });
  }

  async function gitHubApp(def: AuthSchemeDefinition | undefined, cfg: Val, val: Val) {
    const parsed = parseGitHubApp(val);
    if (!parsed.ok) throw new MintInputError(parsed.errors);
    const apiBaseUrl = text(cfg.api_base_url) ?? def?.service_account?.api_base_url ?? GITHUB_API;
    return installationToken(http, parsed.app, { apiBaseUrl });
  }

  /**
   * Mints a token for the account's fields. Throws MintInputError (the request is incomplete) or a
   * classified ProviderError (the provider refused, or could not answer).
   */
  async function mint(a: { projectId: string; toolkitSlug: string; authScheme: string; cfg: AuthConfigRow; val: Val; secretKeys: string[] }): Promise<Minted> {
    const def = await definitionOf(a.projectId, a.toolkitSlug, a.authScheme);
    const cfg = deps.openConfigCredentials(a.cfg);
    const own = ownFields(a.val);
    const keep = (t: Val) => Object.fromEntries(Object.entries(t).filter(([k, v]) => MINTED_FIELDS.includes(k) && v !== undefined));
    let minted: Val;
    if (a.authScheme === 'S2S_OAUTH2') minted = keep(await clientCredentials(def, cfg, own));
    else if (a.authScheme === 'GOOGLE_SERVICE_ACCOUNT') minted = keep(await googleServiceAccount(def, cfg, own));
    else if (a.authScheme === 'SERVICE_ACCOUNT') {
      const t = await gitHubApp(def, cfg, own);
      minted = {
        access_token: t.token,
        token_type: 'Bearer',
        expires_at: t.expires_at,
        ...(t.permissions ? { permissions: t.permissions } : {}),
        ...(t.repository_selection ? { repository_selection: t.repository_selection } : {}),
      };
    } else throw new MintInputError([`${a.authScheme} accounts are not minted`]);
    const expiresAt = typeof minted.expires_at === 'string' ? new Date(minted.expires_at) : undefined;
    return {
      val: { ...own, ...minted },
      secretKeys: [...new Set([...a.secretKeys.filter((k) => !MINTED_FIELDS.includes(k)), ...MINTED_SECRETS])],
      tokenExpiresAt: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : null,
      refreshFailures: 0,
      nextRefreshAt: null,
    };
  }

  /**
   * A new account's first token. A permanent refusal is the account's outcome (FAILED, keeping its
   * non-secret fields only: a key that was refused is not kept); MintInputError and a transient
   * ProviderError are thrown, since nothing should be written for them.
   */
  async function first(a: Parameters<typeof mint>[0]): Promise<FirstToken> {
    try {
      return { status: 'ACTIVE', reason: null, ...(await mint(a)) };
    } catch (err) {
      if (!(err instanceof ProviderError) || err.kind !== 'permanent') throw err;
      const code = codeOf(err.error);
      const kept = Object.fromEntries(Object.entries(ownFields(a.val)).filter(([k]) => !a.secretKeys.includes(k)));
      return {
        status: 'FAILED',
        reason: STATUS_REASONS.tokenRequestRefused(code),
        val: { ...kept, error: code, ...(err.description ? { error_description: err.description.slice(0, 300) } : {}) },
        secretKeys: [],
        tokenExpiresAt: null,
        refreshFailures: 0,
        nextRefreshAt: null,
      };
    }
  }

  return {
    check,
    mint,
    first,
    /** For the refresh machinery: does this scheme re-mint rather than refresh? */
    handles: isMintedScheme,
    /** A new token for an existing account (under its refresh lease). */
    async renew(row: { projectId: string; toolkitSlug: string; authScheme: string; secretKeys: string[] }, val: Val, cfg: AuthConfigRow): Promise<Minted> {
      try {
        return await mint({ projectId: row.projectId, toolkitSlug: row.toolkitSlug, authScheme: row.authScheme, cfg, val, secretKeys: row.secretKeys });
      } catch (err) {
        // Fields that no longer make a request (an auth config patched meanwhile): asking again cannot help.
        if (err instanceof MintInputError) throw new ProviderError('permanent', 'invalid_request', err.message.slice(0, 200));
        throw err;
      }
    },
  };
}
export type MintedTokens = ReturnType<typeof mintedTokens>;
