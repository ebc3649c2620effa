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
 * - Accounts are read, sealed and written through the connected-accounts store (`accounts`); this
 *   module writes only its own attempts, inside the store's transaction where they go together.
 */
import { isDatabaseUnavailable } from '../../db/errors.js';
import type { ManagedCredentials } from '../../lib/config.js';
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import { SECRET_NAME } from '../toolkits/fields.js';
import type { AccountStore, Change } from '../connected-accounts/account-store.js';
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
import type { NewAttempt, OAuthRepository } from './oauth.repository.js';
import { associatedData } from '../../lib/sealed.js';
import { type RedirectStrategy, startFailure } from './redirect-strategy.js';

type Val = Record<string, unknown>;

export type OAuthSettings = OAuthOptions & {
  publicUrl: string;
  attemptTtlMs: number;
  /** Refresh a token read within this much of its expiry. */
  refreshMarginMs: number;
};

/** Fields of `val` that come from the token endpoint (replaced wholesale by a new token response). */
const TOKEN_FIELDS = ['access_token', 'refresh_token', 'id_token', 'token_type', 'expires_in', 'scope', 'authed_user', 'expires_at'];
// OAuth 1.0a's temporary credentials and authorize URL are of no use once a callback failed or a new consent starts.
const TRANSIENT_FIELDS = ['redirectUrl', 'error', 'error_description', 'expired_at', 'revoked_at', 'authUri', 'oauth_token', 'oauth_token_secret', 'oauth_verifier'];
export const OAUTH_SECRET_FIELDS = ['access_token', 'refresh_token', 'id_token', 'authed_user'];

/** Revocation answers that mean the grant was already dead at the provider (after an earlier revocation). */
const ALREADY_DEAD = ['invalid_token', 'invalid_grant'];
/**
 * How long an account with nothing to refresh with (no refresh token) is left out of refreshes.
 * A new consent ends it at once (its tokens clear `next_refresh_at`); the daily look costs one lease.
 */
const SET_ASIDE_MS = 24 * 3600_000;

/** What a refresh run under the lease did, for the caller that asked for it. */
type RefreshOutcome = { row: AccountRow; failure?: string };

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
  accounts: Pick<AccountStore, 'open' | 'create' | 'move' | 'acquireLease' | 'releaseLease' | 'failStaleInitiated'>;
  findAccount: (projectId: string, id: string) => Promise<AccountRow | null>;
  findConfig: (projectId: string, id: string) => Promise<AuthConfigRow | null>;
  openConfigCredentials: (row: AuthConfigRow) => Record<string, unknown>;
  toolkits: Pick<ToolkitsService, 'resolve'>;
  crypto: Pick<Crypto, 'seal' | 'open' | 'hmac' | 'equal'>;
  managedAuth: Map<string, ManagedCredentials>;
  settings: OAuthSettings;
  /**
   * Schemes whose tokens are minted again rather than refreshed (S2S_OAUTH2, service accounts:
   * connected-accounts/minted-tokens.ts). They share everything else here: the lease, single
   * flight, backoff and EXPIRED on a permanent refusal.
   */
  renewer?: { handles: (scheme: string) => boolean; renew: (row: AccountRow, val: Val, cfg: AuthConfigRow) => Promise<Change> };
  /** OAUTH1, DCR_OAUTH, CIMD_OAUTH: their protocol; state, attempts, writes and refresh stay here. */
  strategies?: Partial<Record<string, RedirectStrategy>>;
  /**
   * Verified callbacks: given a completed callback's account write, parks it for the app to confirm
   * (complete_auth) and answers where the browser goes; undefined when the project does not verify.
   */
  park?: (row: AccountRow, write: Change) => Promise<string | undefined>;
  /** Removes parked callbacks long expired (the background sweep). */
  pruneParked?: () => Promise<void>;
  log?: (msg: string, extra?: object) => void;
  /** Told each refresh's outcome and, when it failed, the provider's error code (metrics). */
  onRefresh?: (outcome: 'refreshed' | 'expired' | 'retrying' | 'skipped', error?: string) => void;
}) {
  const { repo, accounts, crypto, settings } = deps;
  const verifierAad = (projectId: string, attemptId: string) => associatedData('oauthCodeVerifier', projectId, attemptId);
  const openVal = accounts.open;
  const inflight = new Map<string, Promise<RefreshOutcome>>();

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
  async function newAttempt(projectId: string, accountId: string, ctx: OAuthContext, values: Val): Promise<{ redirectUrl: string; attempt: NewAttempt }> {
    const state = randomState();
    const verifier = ctx.details.pkce ? randomCodeVerifier() : undefined;
    const config = oauthConfiguration(ctx.details, ctx.creds, values, settings, ctx.source);
    const url = await authorizationUrl(config, ctx.details, { redirectUri: ctx.redirectUri, state, scopes: ctx.scopes, userScopes: ctx.userScopes, codeVerifier: verifier });
    const id = newId('oauthAttempt');
    const now = Date.now();
    return {
      redirectUrl: url,
      attempt: {
        id,
        projectId,
        accountId,
        stateHash: new Uint8Array(crypto.hmac(`oauth-state:${state}`)),
        codeVerifier: verifier ? crypto.seal(verifier, verifierAad(projectId, id)) : null,
        redirectUri: ctx.redirectUri,
        // Both ends from one clock, so the attempt's lifetime (stated in a timeout's reason) is exact.
        createdAt: new Date(now),
        expiresAt: new Date(now + settings.attemptTtlMs),
      },
    };
  }

  const strategyFor = (scheme: string) => (scheme === 'OAUTH2' ? undefined : deps.strategies?.[scheme]);

  /** A new attempt for a strategy scheme: the strategy speaks to the provider, the attempt is ours. */
  async function strategyAttempt(strategy: RedirectStrategy, projectId: string, accountId: string, cfg: AuthConfigRow, values: Val, callbackUrl?: string) {
    const state = randomState();
    const verifier = randomCodeVerifier();
    const started = await strategy.start({ projectId, accountId, cfg, values, state, codeVerifier: verifier, callbackUrl }).catch((err: unknown) =>
      startFailure(err, cfg.authScheme === 'OAUTH1' ? "The provider's OAuth 1.0a request token" : 'Discovery of and registration with the MCP server'),
    );
    const id = newId('oauthAttempt');
    const now = Date.now();
    const attempt: NewAttempt = {
      id,
      projectId,
      accountId,
      stateHash: new Uint8Array(crypto.hmac(`oauth-state:${state}`)),
      codeVerifier: started.usesVerifier ? crypto.seal(verifier, verifierAad(projectId, id)) : null,
      redirectUri: started.redirectUri,
      createdAt: new Date(now),
      expiresAt: new Date(now + settings.attemptTtlMs),
    };
    return { started, attempt };
  }

  /** The callback's successful write: ACTIVE now, or parked for the app's verification (complete_auth). */
  async function activate(row: AccountRow, write: Change): Promise<{ ok: boolean; verify?: string }> {
    const verify = await deps.park?.(row, write);
    if (verify) return { ok: true, verify };
    return { ok: await accounts.move(row, 'ACTIVE', write) };
  }

  const userFields = (val: Val) => Object.fromEntries(Object.entries(val).filter(([k]) => !TOKEN_FIELDS.includes(k) && !TRANSIENT_FIELDS.includes(k)));

  function tokenWrite(base: Val, tokens: TokenSet, keepRefresh?: unknown): Change {
    const val: Val = { ...userFields(base), ...tokens };
    // A provider that does not rotate refresh tokens sends none on refresh: keep the one we have.
    if (val.refresh_token === undefined && keepRefresh !== undefined) val.refresh_token = keepRefresh;
    const expiresIn = typeof tokens.expires_in === 'number' ? tokens.expires_in : Number(tokens.expires_in);
    const tokenExpiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null;
    if (tokenExpiresAt) val.expires_at = tokenExpiresAt.toISOString();
    return {
      val,
      secretKeys: Object.keys(val).filter((k) => OAUTH_SECRET_FIELDS.includes(k) || SECRET_NAME.test(k)),
      tokenExpiresAt,
      refreshFailures: 0,
      nextRefreshAt: null,
    };
  }


  /**
   * One refresh across every process: the lease winner calls the provider, the others wait for it.
   * An attempt that finished elsewhere in the meantime is the answer, whatever its outcome: new
   * tokens, EXPIRED, or a transient failure whose backoff must hold for every replica (otherwise each
   * waiting replica takes the lease in turn and calls the provider again).
   */
  async function refreshAcrossProcesses(row: AccountRow, marginMs: number, force: boolean): Promise<RefreshOutcome> {
    const deadline = Date.now() + 20_000;
    const settled = (now: AccountRow) =>
      now.status !== 'ACTIVE' || (force ? attemptFinishedSince(row, now) : !needsRefresh(now, marginMs) || backingOff(now));
    for (;;) {
      if (await accounts.acquireLease(row)) {
        const current = (await deps.findAccount(row.projectId, row.id)) ?? row;
        if (settled(current)) {
          await accounts.releaseLease(current);
          return { row: current };
        }
        const failure = await refreshUnderLease(current);
        return { row: (await deps.findAccount(row.projectId, row.id)) ?? current, failure };
      }
      await new Promise((r) => setTimeout(r, 50));
      const now = (await deps.findAccount(row.projectId, row.id)) ?? row;
      if (settled(now) || Date.now() > deadline) return { row: now };
    }
  }

  /** A refresh attempt (successful or not) was recorded on the account after `before` was read. */
  function attemptFinishedSince(before: AccountRow, now: AccountRow) {
    return now.status !== before.status || now.state !== before.state || now.refreshFailures !== before.refreshFailures;
  }

  const backingOff = (row: AccountRow) => !!row.nextRefreshAt && row.nextRefreshAt.getTime() > Date.now();

  /** Refreshes under the lease and writes the outcome; returns the provider's error code when it failed. */
  async function refreshUnderLease(row: AccountRow): Promise<string | undefined> {
    const val = openVal(row);
    const mints = !!deps.renewer?.handles(row.authScheme);
    const refreshToken = typeof val.refresh_token === 'string' ? val.refresh_token : undefined;
    const cfg = await deps.findConfig(row.projectId, row.authConfigId);
    // Nothing to refresh with: set the account aside, or every sweep would ask for it first (its
    // expiry is the oldest) and every read near expiry would take the lease for nothing.
    const setAside = { backoff: { refreshFailures: row.refreshFailures, nextRefreshAt: new Date(Date.now() + SET_ASIDE_MS) } };
    if (!(refreshToken || mints) || !cfg) {
      await accounts.releaseLease(row, setAside);
      const reason = refreshToken || mints ? 'auth_config_deleted' : 'no_refresh_token';
      deps.onRefresh?.('skipped', reason);
      return reason;
    }
    try {
      if (deps.renewer && mints) {
        await accounts.releaseLease(row, { tokens: await deps.renewer.renew(row, val, cfg) });
        return undefined;
      }
      if (!refreshToken) {
        await accounts.releaseLease(row, setAside);
        return 'no_refresh_token';
      }
      const strategy = strategyFor(row.authScheme);
      if (strategy?.refresh) {
        await accounts.releaseLease(row, { tokens: await strategy.refresh({ row, cfg, val, refreshToken }) });
        return undefined;
      }
      const ctx = await context(row.projectId, cfg);
      const tokens = await refreshTokens(oauthConfiguration(ctx.details, ctx.creds, val, settings, ctx.source), refreshToken, ctx.details);
      await accounts.releaseLease(row, { tokens: tokenWrite(val, tokens, refreshToken) });
      deps.onRefresh?.('refreshed');
      return undefined;
    } catch (err) {
      const p = err instanceof ProviderError ? err : undefined;
      if (p?.kind === 'permanent') {
        deps.log?.('token refresh failed permanently', { account: row.id, error: p.error });
        await accounts.releaseLease(row, { expire: { reason: STATUS_REASONS.permanentRefreshError, val: { ...val, expired_at: new Date().toISOString() } } });
        deps.onRefresh?.('expired', p.error);
        return p.error;
      }
      const failures = row.refreshFailures + 1;
      // Exponential backoff with jitter, from 15 s up to 30 min.
      const delay = Math.min(30 * 60_000, 15_000 * 2 ** Math.min(failures - 1, 10)) * (0.5 + Math.random() / 2);
      deps.log?.('token refresh failed, will retry', { account: row.id, error: p?.error ?? 'unexpected', failures });
      await accounts.releaseLease(row, { backoff: { refreshFailures: failures, nextRefreshAt: new Date(Date.now() + delay) } });
      deps.onRefresh?.('retrying', p?.error ?? 'unexpected');
      return p?.error ?? 'unexpected';
    }
  }

  /** Single-flight per process: concurrent callers for the same account share one run. */
  function refreshShared(row: AccountRow, marginMs: number, force: boolean) {
    let p = inflight.get(row.id);
    if (!p) {
      p = refreshAcrossProcesses(row, marginMs, force).finally(() => inflight.delete(row.id));
      inflight.set(row.id, p);
    }
    return p;
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
      base: Omit<Parameters<AccountStore['create']>[0], 'val' | 'secretKeys' | 'status'>;
      values: Val;
      callbackUrl: string | null;
    }) {
      const id = a.base.id;
      const strategy = strategyFor(a.cfg.authScheme);
      if (strategy) {
        const { started, attempt } = await strategyAttempt(strategy, a.projectId, id, a.cfg, a.values, a.callbackUrl ?? undefined);
        await accounts.create({ ...a.base, status: 'INITIATED', val: started.val, secretKeys: started.secretKeys }, (tx) => repo.createAttempt(attempt, tx));
        return { redirectUrl: started.authorizeUrl, val: started.val, secretKeys: started.secretKeys };
      }
      const ctx = await context(a.projectId, a.cfg);
      const { redirectUrl, attempt } = await newAttempt(a.projectId, id, ctx, a.values);
      const val: Val = { ...a.values, redirectUrl, ...(a.callbackUrl ? { callback_url: a.callbackUrl } : {}) };
      await accounts.create({ ...a.base, status: 'INITIATED', val, secretKeys: [] }, (tx) => repo.createAttempt(attempt, tx));
      return { redirectUrl, val, secretKeys: [] as string[] };
    },

    /** A strategy scheme's authorize endpoint, before any consent (a 400/502 when the provider cannot be reached or used). */
    async authorizationEndpoint(cfg: AuthConfigRow): Promise<string> {
      const strategy = strategyFor(cfg.authScheme);
      if (!strategy?.authorizationEndpoint) throw new AppError('ConnectedAccount_NotSupported', `${cfg.authScheme} has no discovered endpoint`);
      return strategy.authorizationEndpoint(cfg).catch((err: unknown) => startFailure(err, 'Discovery of the MCP server'));
    },

    /**
     * Re-authorisation of an existing account: same id, new consent. `values` replace the account's
     * fields (a Connect Link's form); `callbackUrl` is where the browser goes after the callback.
     */
    async reinitiate(row: AccountRow, cfg: AuthConfigRow, opts: { values?: Val; callbackUrl?: string } = {}) {
      const strategy = strategyFor(row.authScheme);
      if (strategy) {
        const before = opts.values ?? userFields(openVal(row));
        const callbackUrl = opts.callbackUrl ?? (typeof before.callback_url === 'string' ? before.callback_url : undefined);
        const { started, attempt } = await strategyAttempt(strategy, row.projectId, row.id, cfg, before, callbackUrl);
        const change: Change = { val: started.val, secretKeys: started.secretKeys, tokenExpiresAt: null, ...(opts.callbackUrl ? { callbackUrl: opts.callbackUrl } : {}) };
        if (!(await accounts.move(row, 'INITIATED', change, (tx) => repo.replaceAttempts(attempt, tx)))) {
          throw AppError.final('ConnectedAccount_Conflict', 'The account changed during the request; retry');
        }
        return started.authorizeUrl;
      }
      const ctx = await context(row.projectId, cfg);
      const val = { ...(opts.values ?? openVal(row)), ...(opts.callbackUrl ? { callback_url: opts.callbackUrl } : {}) };
      const { redirectUrl, attempt } = await newAttempt(row.projectId, row.id, ctx, val);
      const change: Change = { val: { ...val, redirectUrl }, ...(opts.callbackUrl ? { callbackUrl: opts.callbackUrl } : {}) };
      if (!(await accounts.move(row, 'INITIATED', change, (tx) => repo.replaceAttempts(attempt, tx)))) {
        throw AppError.final('ConnectedAccount_Conflict', 'The account changed during the request; retry');
      }
      return redirectUrl;
    },

    /**
     * The callback: validates the state, exchanges the code, and records the outcome on the account.
     * Returns where to send the browser; throws CallbackError for states that name no usable attempt.
     */
    async complete(query: Record<string, string | undefined>): Promise<{ account: AccountRow; ok: boolean; callbackUrl?: string; verify?: string }> {
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
        await accounts.move(row, 'FAILED', { reason, val: next });
        return { account: (await deps.findAccount(row.projectId, row.id)) ?? row, ok: false, callbackUrl };
      };
      if (row.status !== 'INITIATED') throw new CallbackError('This connection is not waiting for a sign-in.');
      if (attempt.expiresAt.getTime() < Date.now()) return fail(STATUS_REASONS.initiationTimeout(attempt.expiresAt.getTime() - attempt.createdAt.getTime()), 'expired');
      const strategy = strategyFor(row.authScheme);
      if (strategy) {
        if (query.error) return fail(STATUS_REASONS.providerDenied(query.error), query.error.slice(0, 100), query.error_description?.slice(0, 300));
        const cfg = await deps.findConfig(row.projectId, row.authConfigId);
        if (!cfg) return fail(STATUS_REASONS.authConfigDeleted, 'auth_config_deleted');
        try {
          const verifier = attempt.codeVerifier ? crypto.open(attempt.codeVerifier, verifierAad(attempt.projectId, attempt.id)) : undefined;
          const write = await strategy.complete({ row, cfg, val, query, redirectUri: attempt.redirectUri, state, codeVerifier: verifier });
          if (callbackUrl && write.val) write.val.callback_url = callbackUrl;
          const { ok, verify } = await activate(row, write);
          return { account: (await deps.findAccount(row.projectId, row.id)) ?? row, ok, callbackUrl, verify };
        } catch (err) {
          const p = err instanceof ProviderError ? err : undefined;
          if (!p) throw err;
          deps.log?.('callback exchange failed', { account: row.id, error: p.error });
          // OAuth 1.0a says "denied" in the callback itself, not with an OAuth2 `error`.
          const reason = p.error === 'access_denied' ? STATUS_REASONS.providerDenied(p.error) : STATUS_REASONS.tokenExchangeFailed;
          return fail(reason, p.error, p.description?.slice(0, 300));
        }
      }
      if (query.error) {
        const desc = query.error_description?.slice(0, 300);
        return fail(STATUS_REASONS.providerDenied(query.error), query.error.slice(0, 100), desc);
      }
      if (!query.code) return fail(STATUS_REASONS.callbackWithoutCode, 'missing_code');
      const cfg = await deps.findConfig(row.projectId, row.authConfigId);
      if (!cfg) return fail(STATUS_REASONS.authConfigDeleted, 'auth_config_deleted');
      try {
        const ctx = await context(row.projectId, cfg);
        const current = new URL(attempt.redirectUri);
        for (const [k, v] of Object.entries(query)) if (v !== undefined) current.searchParams.set(k, v);
        const verifier = attempt.codeVerifier ? crypto.open(attempt.codeVerifier, verifierAad(attempt.projectId, attempt.id)) : undefined;
        const tokens = await exchangeCode(oauthConfiguration(ctx.details, ctx.creds, val, settings, ctx.source), current, { state, codeVerifier: verifier }, ctx.details);
        const write = tokenWrite({ ...val, ...(callbackUrl ? { callback_url: callbackUrl } : {}) }, tokens);
        // Not moved: the account was deleted or re-initiated meanwhile; the browser hears the truth.
        const { ok, verify } = await activate(row, write);
        return { account: (await deps.findAccount(row.projectId, row.id)) ?? row, ok, callbackUrl, verify };
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
    async fresh(row: AccountRow, marginMs = settings.refreshMarginMs): Promise<AccountRow> {
      // INITIALIZING accounts wait on a Connect Link, which has its own lifetime (connect-links).
      if (row.status === 'INITIATED' && row.updatedAt.getTime() < Date.now() - settings.attemptTtlMs) {
        await accounts.move(row, 'FAILED', { reason: STATUS_REASONS.initiationTimeout(settings.attemptTtlMs) });
        return (await deps.findAccount(row.projectId, row.id)) ?? row;
      }
      if (!needsRefresh(row, marginMs) || backingOff(row)) return row;
      return (await refreshShared(row, marginMs, false)).row;
    },

    /**
     * Refreshes an ACTIVE account's token now, whatever its expiry (Latchkey extension). Never
     * answers the old token as if it were new: a transient provider failure is a 502, a dead grant
     * leaves the account EXPIRED and says so.
     */
    async refreshNow(row: AccountRow): Promise<AccountRow> {
      if (row.status !== 'ACTIVE') throw AppError.final('ConnectedAccount_InvalidTransition', `The account is ${row.status}; only ACTIVE tokens refresh`);
      if (!deps.renewer?.handles(row.authScheme) && typeof openVal(row).refresh_token !== 'string') {
        throw new AppError('ConnectedAccount_NotSupported', 'This account has no refresh token', {
          suggestedFix: 'Re-authorise it with POST /connected_accounts/{id}/refresh',
        });
      }
      const { row: after, failure } = await refreshShared(row, Number.MAX_SAFE_INTEGER, true);
      if (after.status === 'EXPIRED') {
        throw AppError.final('ConnectedAccount_Expired', `The provider refused the refresh${failure ? ` (${failure})` : ''}: the grant is no longer valid and the account is now EXPIRED`, {
          suggestedFix: 'Re-authorise the account (POST /connected_accounts/{id}/refresh) or connect it again',
        });
      }
      if (after.status !== 'ACTIVE') throw AppError.final('ConnectedAccount_InvalidTransition', `The account became ${after.status} during the refresh`);
      if (after.state !== row.state && after.refreshFailures === 0) return after;
      const code = failure && /^[A-Za-z0-9_.-]{1,64}$/.test(failure) ? ` (${failure})` : '';
      throw new AppError('ConnectedAccount_ProviderError', `The provider failed the token refresh${code}; the stored token is unchanged`, {
        suggestedFix: 'Retry later; the background job keeps retrying with backoff',
      });
    },

    /**
     * An OAUTH1 account whose token the provider refused (a 401 to a signed request): OAuth 1.0a
     * has no refresh, so the grant was revoked or ended there and the account moves to EXPIRED
     * (its webhook event follows from the move). False when another writer changed it first.
     */
    async expireRejected(row: AccountRow): Promise<boolean> {
      if (row.status !== 'ACTIVE' || row.authScheme !== 'OAUTH1') return false;
      return accounts.move(row, 'EXPIRED', { reason: STATUS_REASONS.tokenRejectedByProvider });
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
          if (typeof val[hint] !== 'string') continue;
          try {
            await revokeToken(config, val[hint] as string, hint);
            revoked.push(hint);
          } catch (err) {
            // Revoking the refresh token kills the whole grant at many providers, and some then
            // refuse the access token as invalid: the grant is dead, which is what was asked.
            if (!(err instanceof ProviderError && err.kind === 'permanent' && ALREADY_DEAD.includes(err.error))) throw err;
          }
        }
      } catch (err) {
        const p = err instanceof ProviderError ? err : undefined;
        throw AppError.final('ConnectedAccount_ProviderError', `The provider refused or failed the revocation (${p?.error ?? 'error'}); the account is unchanged`, {
          suggestedFix: 'Retry later, or revoke the grant in the provider',
        });
      }
      const next = { ...userFields(val), revoked_at: new Date().toISOString() };
      if (!(await accounts.move(row, 'REVOKED', { reason, val: next, secretKeys: [], tokenExpiresAt: null }))) {
        throw AppError.final('ConnectedAccount_Conflict', 'The account changed during the revocation; its tokens were revoked at the provider, read it again');
      }
      return revoked;
    },

    /**
     * Background maintenance: fail abandoned redirects, then refresh the live tokens expiring
     * within `aheadMs`, soonest first, `concurrency` accounts at a time. Without `budgetMs`, one
     * batch; with it, batch after batch until none is due, and no account is started once
     * `budgetMs` has passed or `signal` aborted (those started finish: a slow provider holds a run
     * for one timeout past its budget, not a timeout per account). An account that fails is
     * logged and left to its backoff; the others go on.
     */
    async sweep(opts: { aheadMs: number; batch: number; concurrency?: number; budgetMs?: number; signal?: AbortSignal }) {
      const expired = await accounts.failStaleInitiated(new Date(Date.now() - settings.attemptTtlMs), STATUS_REASONS.initiationTimeout(settings.attemptTtlMs));
      await repo.pruneAttempts();
      await deps.pruneParked?.();
      const before = new Date(Date.now() + opts.aheadMs);
      const until = opts.budgetMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.budgetMs;
      // The database going away ends the run (the job engine reports the outage once), rather
      // than every account after it failing and being logged in turn.
      let outage: unknown;
      const over = () => Date.now() >= until || !!opts.signal?.aborted || outage !== undefined;
      // Accounts handled in this run are not asked for again: a token that lives less than
      // `aheadMs` is due again as soon as it is refreshed, and one whose lease another process
      // held may still look due.
      const handled: string[] = [];
      let refreshed = 0;
      do {
        const due = await repo.dueForRefresh(before, opts.batch, handled);
        if (!due.length) break;
        handled.push(...due.map((a) => a.id));
        await eachConcurrently(due, opts.concurrency ?? 1, async ({ id, projectId }) => {
          if (over()) return;
          try {
            const row = await deps.findAccount(projectId, id);
            if (!row) return;
            await this.fresh(row, opts.aheadMs);
            refreshed++;
          } catch (err) {
            if (isDatabaseUnavailable(err)) outage ??= err;
            else deps.log?.('token refresh sweep: an account could not be refreshed', { account: id, error: (err as Error)?.name ?? 'unexpected' });
          }
        });
        if (outage !== undefined) throw outage;
      } while (opts.budgetMs !== undefined && !over());
      return { expired, refreshed };
    },
  };
}
export type OAuthService = ReturnType<typeof oauthService>;

/** Runs `work` on every item, at most `limit` at a time. */
async function eachConcurrently<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** A callback that names no usable attempt: shown as a page, never redirected anywhere. */
export class CallbackError extends Error {
  constructor(readonly userMessage: string) {
    super(userMessage);
    this.name = 'CallbackError';
  }
}
