/**
 * OAuth2 connections: starting a redirect, completing it at the callback, keeping tokens fresh,
 * re-authorising and revoking.
 *
 * - A `state` is random, single-use, stored only as an HMAC, matched in constant time, and dies
 *   after OAUTH_ATTEMPT_TTL_MS. PKCE S256 unless the toolkit says the provider cannot.
 * - No transaction is open during a call to the provider: exchange or refresh first, then write.
 * - Refresh is single-flight: within a process through a shared promise, across processes through a
 *   lease on the account row. Readers that lose wait for the winner's result.
 * - Refresh failures are classified: permanent (invalid_grant, revoked) → EXPIRED at once;
 *   transient (timeouts, 5xx, 429) → backoff, and the account stays usable while its token is valid.
 */
import type { ManagedCredentials } from '../../lib/config.js';
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import { SECRET_NAME } from '../toolkits/fields.js';
import type { AccountRow } from '../connected-accounts/connected-accounts.repository.js';
import { STATUS_REASONS } from '../connected-accounts/state-machine.js';
import type { AuthSchemeDefinition, OAuth2Details } from '../toolkits/toolkit-definition.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import {
  type AppCredentials,
  type EndpointSource,
  type OAuthOptions,
  ProviderError,
  type TokenSet,
  authorizationUrl,
  exchangeCode,
  oauthConfiguration,
  randomCodeVerifier,
  randomState,
  refreshTokens,
  revokeToken,
} from './oauth-client.js';
import type { OAuthRepository } from './oauth.repository.js';
import { associatedData } from '../../lib/sealed.js';

type Val = Record<string, unknown>;

export type OAuthSettings = OAuthOptions & {
  publicUrl: string;
  attemptTtlMs: number;
  /** Refresh a token read within this much of its expiry. */
  refreshMarginMs: number;
};

/** Fields of `val` that come from the token endpoint (replaced wholesale by a new token response). */
const TOKEN_FIELDS = ['access_token', 'refresh_token', 'id_token', 'token_type', 'expires_in', 'scope', 'authed_user', 'expires_at'];
const TRANSIENT_FIELDS = ['redirectUrl', 'error', 'error_description', 'expired_at', 'revoked_at'];
export const OAUTH_SECRET_FIELDS = ['access_token', 'refresh_token', 'id_token', 'authed_user'];

export const CALLBACK_PATH = '/api/v3/toolkits/auth/callback';

const splitScopes = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' && v.trim() ? v.split(/[\s,]+/).filter(Boolean) : undefined;

export type OAuthContext = {
  details: OAuth2Details;
  scheme: AuthSchemeDefinition;
  creds: AppCredentials;
  scopes: string[];
  userScopes?: string[];
  redirectUri: string;
  /** Built-in toolkits' endpoints are trusted; a project's own go through the egress guard. */
  source: EndpointSource;
};

export function oauthService(deps: {
  repo: OAuthRepository;
  findAccount: (projectId: string, id: string) => Promise<AccountRow | null>;
  findConfig: (projectId: string, id: string) => Promise<AuthConfigRow | null>;
  openConfigCredentials: (row: AuthConfigRow) => Record<string, unknown>;
  toolkits: Pick<ToolkitsService, 'resolve'>;
  crypto: Pick<Crypto, 'seal' | 'open' | 'hmac' | 'equal'>;
  managedAuth: Map<string, ManagedCredentials>;
  settings: OAuthSettings;
  log?: (msg: string, extra?: object) => void;
}) {
  const { repo, crypto, settings } = deps;
  const aad = (projectId: string, id: string) => associatedData('connectedAccountState', projectId, id);
  const verifierAad = (projectId: string, attemptId: string) => associatedData('oauthCodeVerifier', projectId, attemptId);
  const openVal = (row: Pick<AccountRow, 'projectId' | 'id' | 'state'>): Val => JSON.parse(crypto.open(row.state, aad(row.projectId, row.id))) as Val;
  const sealVal = (projectId: string, id: string, val: Val) => crypto.seal(JSON.stringify(val), aad(projectId, id));
  const inflight = new Map<string, Promise<AccountRow>>();

  async function context(projectId: string, cfg: AuthConfigRow): Promise<OAuthContext> {
    const toolkit = await deps.toolkits.resolve(projectId, cfg.toolkitSlug);
    const scheme = toolkit.definition.auth_schemes.find((s) => s.mode === 'OAUTH2');
    if (!scheme?.oauth2) throw new AppError('ConnectedAccount_NotSupported', `Toolkit ${cfg.toolkitSlug} has no OAuth2 details`);
    const stored = deps.openConfigCredentials(cfg);
    const managed = cfg.isComposioManaged ? deps.managedAuth.get(cfg.toolkitSlug) : undefined;
    const clientId = managed?.client_id ?? stored.client_id;
    const clientSecret = managed?.client_secret ?? stored.client_secret;
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string') {
      throw new AppError('AuthConfig_InvalidRequest', `Auth config ${cfg.id} has no OAuth client credentials`, {
        suggestedFix: cfg.isComposioManaged
          ? `The operator must set LATCHKEY_MANAGED_${cfg.toolkitSlug.toUpperCase()}_CLIENT_ID and _CLIENT_SECRET`
          : 'PATCH the auth config with credentials.client_id and credentials.client_secret',
      });
    }
    const redirect = typeof stored.oauth_redirect_uri === 'string' && stored.oauth_redirect_uri ? stored.oauth_redirect_uri : `${settings.publicUrl}${CALLBACK_PATH}`;
    return {
      details: scheme.oauth2,
      scheme,
      creds: { client_id: clientId, client_secret: clientSecret },
      scopes: splitScopes(stored.scopes) ?? scheme.oauth2.default_scopes,
      userScopes: splitScopes(stored.user_scopes) ?? scheme.oauth2.default_user_scopes,
      redirectUri: redirect,
      source: toolkit.type === 'native' ? 'catalogue' : 'project',
    };
  }

  /** A new attempt: the authorize URL and the row that remembers its state and verifier. */
  async function newAttempt(projectId: string, accountId: string, ctx: OAuthContext, values: Val) {
    const state = randomState();
    const verifier = ctx.details.pkce ? randomCodeVerifier() : undefined;
    const config = oauthConfiguration(ctx.details, ctx.creds, values, settings, ctx.source);
    const url = await authorizationUrl(config, ctx.details, { redirectUri: ctx.redirectUri, state, scopes: ctx.scopes, userScopes: ctx.userScopes, codeVerifier: verifier });
    const id = newId('oauthAttempt');
    return {
      redirectUrl: url,
      attempt: {
        id,
        projectId,
        accountId,
        stateHash: new Uint8Array(crypto.hmac(`oauth-state:${state}`)),
        codeVerifier: verifier ? crypto.seal(verifier, verifierAad(projectId, id)) : null,
        redirectUri: ctx.redirectUri,
        expiresAt: new Date(Date.now() + settings.attemptTtlMs),
      },
    };
  }

  const userFields = (val: Val) => Object.fromEntries(Object.entries(val).filter(([k]) => !TOKEN_FIELDS.includes(k) && !TRANSIENT_FIELDS.includes(k)));

  function tokenWrite(projectId: string, id: string, base: Val, tokens: TokenSet, keepRefresh?: unknown) {
    const val: Val = { ...userFields(base), ...tokens };
    // A provider that does not rotate refresh tokens sends none on refresh: keep the one we have.
    if (val.refresh_token === undefined && keepRefresh !== undefined) val.refresh_token = keepRefresh;
    const expiresIn = typeof tokens.expires_in === 'number' ? tokens.expires_in : Number(tokens.expires_in);
    const tokenExpiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null;
    if (tokenExpiresAt) val.expires_at = tokenExpiresAt.toISOString();
    return {
      state: sealVal(projectId, id, val),
      secretKeys: Object.keys(val).filter((k) => OAUTH_SECRET_FIELDS.includes(k) || SECRET_NAME.test(k)),
      tokenExpiresAt,
      refreshFailures: 0,
      nextRefreshAt: null,
    };
  }

  async function markExpired(row: AccountRow, val: Val, reason: string) {
    await repo.releaseLease(row.projectId, row.id, {
      status: 'EXPIRED',
      statusReason: reason,
      state: sealVal(row.projectId, row.id, { ...val, expired_at: new Date().toISOString() }),
    });
  }

  /**
   * One refresh across every process: the lease winner calls the provider, the others wait for it.
   * An attempt that finished elsewhere in the meantime is the answer, whatever its outcome: new
   * tokens, EXPIRED, or a transient failure whose backoff must hold for every replica (otherwise each
   * waiting replica takes the lease in turn and calls the provider again).
   */
  async function refreshAcrossProcesses(row: AccountRow, marginMs: number, force: boolean): Promise<AccountRow> {
    const deadline = Date.now() + 20_000;
    const settled = (now: AccountRow) =>
      now.status !== 'ACTIVE' || !needsRefresh(now, marginMs) || (force ? attemptFinishedSince(row, now) : backingOff(now));
    for (;;) {
      if (await repo.acquireLease(row.projectId, row.id)) {
        const current = (await deps.findAccount(row.projectId, row.id)) ?? row;
        if (settled(current)) {
          await repo.releaseLease(row.projectId, row.id, {});
          return current;
        }
        await refreshUnderLease(current);
        return (await deps.findAccount(row.projectId, row.id)) ?? current;
      }
      await new Promise((r) => setTimeout(r, 50));
      const now = (await deps.findAccount(row.projectId, row.id)) ?? row;
      if (settled(now) || Date.now() > deadline) return now;
    }
  }

  /** A refresh attempt (successful or not) was recorded on the account after `before` was read. */
  function attemptFinishedSince(before: AccountRow, now: AccountRow) {
    return now.tokenExpiresAt?.getTime() !== before.tokenExpiresAt?.getTime() || now.refreshFailures !== before.refreshFailures;
  }

  const backingOff = (row: AccountRow) => !!row.nextRefreshAt && row.nextRefreshAt.getTime() > Date.now();

  async function refreshUnderLease(row: AccountRow) {
    const val = openVal(row);
    const refreshToken = typeof val.refresh_token === 'string' ? val.refresh_token : undefined;
    const cfg = await deps.findConfig(row.projectId, row.authConfigId);
    if (!refreshToken || !cfg) {
      await repo.releaseLease(row.projectId, row.id, {});
      return;
    }
    try {
      const ctx = await context(row.projectId, cfg);
      const tokens = await refreshTokens(oauthConfiguration(ctx.details, ctx.creds, val, settings, ctx.source), refreshToken, ctx.details);
      await repo.releaseLease(row.projectId, row.id, tokenWrite(row.projectId, row.id, val, tokens, refreshToken));
    } catch (err) {
      const p = err instanceof ProviderError ? err : undefined;
      if (p?.kind === 'permanent') {
        deps.log?.('token refresh failed permanently', { account: row.id, error: p.error });
        await markExpired(row, val, STATUS_REASONS.permanentRefreshError);
        return;
      }
      const failures = row.refreshFailures + 1;
      // Exponential backoff with jitter, from 15 s up to 30 min.
      const delay = Math.min(30 * 60_000, 15_000 * 2 ** Math.min(failures - 1, 10)) * (0.5 + Math.random() / 2);
      deps.log?.('token refresh failed, will retry', { account: row.id, error: p?.error ?? 'unexpected', failures });
      await repo.releaseLease(row.projectId, row.id, { refreshFailures: failures, nextRefreshAt: new Date(Date.now() + delay) });
    }
  }

  function needsRefresh(row: AccountRow, marginMs: number) {
    return row.status === 'ACTIVE' && !!row.tokenExpiresAt && row.tokenExpiresAt.getTime() - Date.now() < marginMs;
  }

  return {
    context,
    openVal,

    /** A new OAuth2 account: INITIATED with the provider's authorize URL, written with its attempt. */
    async startNewAccount(a: {
      projectId: string;
      cfg: AuthConfigRow;
      base: Omit<Parameters<OAuthRepository['createAccountWithAttempt']>[0], 'state' | 'secretKeys' | 'status'>;
      values: Val;
      callbackUrl: string | null;
    }) {
      const id = a.base.id!;
      const ctx = await context(a.projectId, a.cfg);
      const { redirectUrl, attempt } = await newAttempt(a.projectId, id, ctx, a.values);
      const val: Val = { ...a.values, redirectUrl, ...(a.callbackUrl ? { callback_url: a.callbackUrl } : {}) };
      await repo.createAccountWithAttempt({ ...a.base, status: 'INITIATED', state: sealVal(a.projectId, id, val), secretKeys: [] }, attempt);
      return { redirectUrl, val };
    },

    /** Re-authorisation of an existing account: same id, new consent. */
    async reinitiate(row: AccountRow, cfg: AuthConfigRow) {
      const ctx = await context(row.projectId, cfg);
      const val = openVal(row);
      const { redirectUrl, attempt } = await newAttempt(row.projectId, row.id, ctx, val);
      const next = { ...val, redirectUrl };
      if (!(await repo.reinitiate(row.projectId, row.id, row.status, sealVal(row.projectId, row.id, next), attempt))) {
        throw AppError.final('ConnectedAccount_Conflict', 'The account changed during the request; retry');
      }
      return redirectUrl;
    },

    /**
     * The callback: validates the state, exchanges the code, and records the outcome on the account.
     * Returns where to send the browser; throws CallbackError for states that name no usable attempt.
     */
    async complete(query: Record<string, string | undefined>): Promise<{ account: AccountRow; ok: boolean; callbackUrl?: string }> {
      const state = query.state;
      if (!state || state.length > 512) throw new CallbackError('This sign-in link is missing its state.');
      const hash = crypto.hmac(`oauth-state:${state}`);
      const attempt = await repo.findAttempt(hash);
      if (!attempt || !crypto.equal(Buffer.from(attempt.stateHash), hash)) throw new CallbackError('This sign-in link is not valid.');
      if (!(await repo.claimAttempt(attempt.id))) throw new CallbackError('This sign-in link was already used.');
      const row = await deps.findAccount(attempt.projectId, attempt.accountId);
      if (!row) throw new CallbackError('This connection no longer exists.');
      const val = openVal(row);
      const callbackUrl = typeof val.callback_url === 'string' ? val.callback_url : undefined;
      const fail = async (reason: string, error: string, description?: string) => {
        const next = { ...userFields(val), error, ...(description ? { error_description: description } : {}), ...(callbackUrl ? { callback_url: callbackUrl } : {}) };
        await repo.finish(row.projectId, row.id, row.status, { status: 'FAILED', statusReason: reason, state: sealVal(row.projectId, row.id, next) });
        return { account: (await deps.findAccount(row.projectId, row.id)) ?? row, ok: false, callbackUrl };
      };
      if (row.status !== 'INITIATED') throw new CallbackError('This connection is not waiting for a sign-in.');
      if (attempt.expiresAt.getTime() < Date.now()) return fail(STATUS_REASONS.initiationTimeout, 'expired');
      if (query.error) {
        const desc = query.error_description?.slice(0, 300);
        return fail(`Authorization failed at the provider: ${query.error.slice(0, 100)}`, query.error.slice(0, 100), desc);
      }
      if (!query.code) return fail(STATUS_REASONS.tokenExchangeFailed, 'missing_code');
      const cfg = await deps.findConfig(row.projectId, row.authConfigId);
      if (!cfg) return fail(STATUS_REASONS.tokenExchangeFailed, 'auth_config_deleted');
      try {
        const ctx = await context(row.projectId, cfg);
        const current = new URL(attempt.redirectUri);
        for (const [k, v] of Object.entries(query)) if (v !== undefined) current.searchParams.set(k, v);
        const verifier = attempt.codeVerifier ? crypto.open(attempt.codeVerifier, verifierAad(attempt.projectId, attempt.id)) : undefined;
        const tokens = await exchangeCode(oauthConfiguration(ctx.details, ctx.creds, val, settings, ctx.source), current, { state, codeVerifier: verifier }, ctx.details);
        const write = tokenWrite(row.projectId, row.id, { ...val, ...(callbackUrl ? { callback_url: callbackUrl } : {}) }, tokens);
        await repo.finish(row.projectId, row.id, 'INITIATED', { status: 'ACTIVE', statusReason: null, ...write });
        return { account: (await deps.findAccount(row.projectId, row.id)) ?? row, ok: true, callbackUrl };
      } catch (err) {
        const p = err instanceof ProviderError ? err : undefined;
        deps.log?.('code exchange failed', { account: row.id, error: p?.error ?? (err as Error)?.name });
        return fail(STATUS_REASONS.tokenExchangeFailed, p?.error ?? 'exchange_failed', p?.description?.slice(0, 300));
      }
    },

    /**
     * The account as it should be read now: an abandoned redirect becomes FAILED, and a token near
     * expiry is refreshed first (single-flight).
     */
    async fresh(row: AccountRow, marginMs = settings.refreshMarginMs, opts: { force?: boolean } = {}): Promise<AccountRow> {
      // INITIALIZING accounts wait on a Connect Link, which has its own lifetime (connect-links).
      if (row.status === 'INITIATED' && row.updatedAt.getTime() < Date.now() - settings.attemptTtlMs) {
        await repo.finish(row.projectId, row.id, row.status, { status: 'FAILED', statusReason: STATUS_REASONS.initiationTimeout });
        return (await deps.findAccount(row.projectId, row.id)) ?? row;
      }
      if (!needsRefresh(row, marginMs)) return row;
      if (!opts.force && backingOff(row)) return row;
      let p = inflight.get(row.id);
      if (!p) {
        p = refreshAcrossProcesses(row, marginMs, !!opts.force).finally(() => inflight.delete(row.id));
        inflight.set(row.id, p);
      }
      return p;
    },

    /** RFC 7009 revocation of the account's tokens; the account becomes REVOKED. */
    async revoke(row: AccountRow, cfg: AuthConfigRow, reason: string) {
      const ctx = await context(row.projectId, cfg);
      if (!ctx.details.revocation_url) {
        throw new AppError('ConnectedAccount_NotSupported', `Revocation is not supported for ${row.toolkitSlug}`, {
          suggestedFix: 'Revoke the grant in the provider, then delete the account',
        });
      }
      const val = openVal(row);
      const config = oauthConfiguration(ctx.details, ctx.creds, val, settings, ctx.source);
      const revoked: ('access_token' | 'refresh_token')[] = [];
      try {
        for (const hint of ['refresh_token', 'access_token'] as const) {
          if (typeof val[hint] === 'string') {
            await revokeToken(config, val[hint] as string, hint);
            revoked.push(hint);
          }
        }
      } catch (err) {
        const p = err instanceof ProviderError ? err : undefined;
        throw AppError.final('ConnectedAccount_ProviderError', `The provider refused or failed the revocation (${p?.error ?? 'error'}); the account is unchanged`, {
          suggestedFix: 'Retry later, or revoke the grant in the provider',
        });
      }
      const next = { ...userFields(val), revoked_at: new Date().toISOString() };
      await repo.finish(row.projectId, row.id, row.status, {
        status: 'REVOKED',
        statusReason: reason,
        state: sealVal(row.projectId, row.id, next),
        secretKeys: [],
        tokenExpiresAt: null,
      });
      return revoked;
    },

    /** Background maintenance: refresh ahead of expiry, fail abandoned redirects. */
    async sweep(opts: { aheadMs: number; batch: number }) {
      const expired = await repo.expireStale(new Date(Date.now() - settings.attemptTtlMs), STATUS_REASONS.initiationTimeout);
      let refreshed = 0;
      for (const { id, projectId } of await repo.dueForRefresh(new Date(Date.now() + opts.aheadMs), opts.batch)) {
        const row = await deps.findAccount(projectId, id);
        if (row) {
          await this.fresh(row, opts.aheadMs);
          refreshed++;
        }
      }
      return { expired, refreshed };
    },
  };
}
export type OAuthService = ReturnType<typeof oauthService>;

/** A callback that names no usable attempt: shown as a page, never redirected anywhere. */
export class CallbackError extends Error {
  constructor(readonly userMessage: string) {
    super(userMessage);
    this.name = 'CallbackError';
  }
}
