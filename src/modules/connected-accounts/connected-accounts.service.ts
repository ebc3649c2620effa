/**
 * Connected accounts: one end user's credentials for one toolkit.
 * - The connection's fields (`state.val` without `status`) are sealed as one value bound to the
 *   project and the account id; `secretKeys` records which of them are secret so masking needs no
 *   decryption rules of its own.
 * - Credential schemes (API_KEY, BEARER_TOKEN, BASIC, ...) become ACTIVE on creation; every write
 *   (and every status change, under state-machine.ts's rules) goes through account-store.ts.
 * - Another project's account is "not found", never "forbidden".
 */
import { z } from 'zod';
import { DecryptError } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId, newWordId } from '../../lib/ids.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import type { AuthConfigsService } from '../auth-configs/auth-configs.service.js';
import { MASK, checkFields, secretKeys } from '../toolkits/fields.js';
import type { Caller } from '../projects/projects.service.js';
import type { AuthScheme, AuthSchemeDefinition } from '../toolkits/toolkit-definition.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import type { OAuthService } from '../oauth/oauth.service.js';
import { computeAuthParams } from './auth-params.js';
import type { AccountStore, NewAccount } from './account-store.js';
import { type MintedTokens, isMintedScheme, mintError, normaliseAccountFields } from './minted-tokens.js';
import type { AccountRow, ConnectedAccountsRepository, ListedAccount } from './connected-accounts.repository.js';
import type { AccountObject, CreateAccountBody, ListAccountsQuery, UpdateAccountBody } from './connected-accounts.schemas.js';
import { ACL_ONLY_FOR_SHARED, aclOf, aclWire, applyAcl, mayUse, newAccountAcl } from './shared-access.js';
import { type Status, STATUS_REASONS, transition } from './state-machine.js';
import type { AuditAction } from '../audit/audit.actions.js';
import type { AuditService } from '../audit/audit.service.js';

type Val = Record<string, unknown>;

const UNREADABLE = 'Stored credentials could not be decrypted';

/** Schemes whose credentials arrive in the request; OAuth schemes run a redirect flow instead. */
const REDIRECT_SCHEMES: AuthScheme[] = ['OAUTH2', 'OAUTH1', 'DCR_OAUTH', 'CIMD_OAUTH', 'S2S_OAUTH2'];
/** Redirect schemes Latchkey connects: the user consents at the provider, the callback completes the account. */
const CONNECTED_BY_REDIRECT: AuthScheme[] = ['OAUTH2', 'OAUTH1', 'DCR_OAUTH', 'CIMD_OAUTH'];
/** Schemes whose tokens come with a refresh token Latchkey keeps fresh. */
const REFRESHABLE: AuthScheme[] = ['OAUTH2', 'DCR_OAUTH', 'CIMD_OAUTH'];
/** Schemes whose credentials can be patched in place (Composio's PATCH contract). */
const PATCHABLE: AuthScheme[] = ['BEARER_TOKEN', 'API_KEY', 'BASIC', 'BASIC_WITH_JWT', 'GOOGLE_SERVICE_ACCOUNT', 'SERVICE_ACCOUNT', 'NO_AUTH'];

const CursorShape = z.object({
  o: z.enum(['created_at', 'updated_at']),
  d: z.enum(['asc', 'desc']),
  v: z.iso.datetime(),
  i: z.string().max(64),
  p: z.number().int().min(1).max(1_000_000_000),
  /** total_items as counted for the first page: the listing is a snapshot of its size. */
  t: z.number().int().min(0).max(1_000_000_000),
  /** Set when `t` is an estimate (more than EXACT_TOTAL_UP_TO matched). */
  e: z.literal(1).optional(),
});

/** How long a first page's total_items is reused for the same project and filters. */
const COUNT_TTL_MS = 2_000;
/**
 * total_items is exact up to this many matching accounts; above it, it is PostgreSQL's estimate from
 * the table's statistics (never below this), corrected to the exact number on the listing's last
 * page. Counting every row of a million-account project on each first page cost a second; counting
 * at most this many costs a few milliseconds, and the SDK only uses total_pages to know whether to
 * go on, which next_cursor decides in any case.
 */
const EXACT_TOTAL_UP_TO = 10_000;


export function connectedAccountsService(deps: {
  repo: ConnectedAccountsRepository;
  authConfigs: Pick<AuthConfigsService, 'findOrThrow' | 'openCredentials' | 'fixedPartsOf' | 'usableOrThrow'>;
  toolkits: Pick<ToolkitsService, 'resolve'>;
  oauth: Pick<OAuthService, 'startNewAccount' | 'reinitiate' | 'fresh' | 'refreshNow' | 'revoke'>;
  store: Pick<AccountStore, 'open' | 'create' | 'move' | 'patch' | 'softDelete'>;
  /** Minted-token schemes (S2S_OAUTH2, GOOGLE_SERVICE_ACCOUNT, SERVICE_ACCOUNT): checks and the first mint. */
  minted: Pick<MintedTokens, 'check' | 'first'>;
  /** OAUTH1: the `Authorization: OAuth …` header for one request as an account. */
  signOAuth1?: (cfg: AuthConfigRow, val: Val, req: { method: string; url: string }) => Promise<string>;
  /** Reads that hand out a credential are recorded (buffered, off the request path). */
  audit: Pick<AuditService, 'recordRead'>;
  /** Told about rows whose sealed state does not open (wrong keyring or altered data). */
  onUnreadable?: (accountId: string) => void;
  /** EXACT_TOTAL_UP_TO unless given (tests show the estimate path on a handful of accounts). */
  exactTotalUpTo?: number;
}) {
  const { repo, authConfigs, toolkits, store, oauth } = deps;
  const isOAuth2 = (row: { authScheme: string }) => row.authScheme === 'OAUTH2';
  const byRedirect = (row: { authScheme: string }) => CONNECTED_BY_REDIRECT.includes(row.authScheme as AuthScheme);
  /** Accounts whose tokens are kept fresh by the refresh machinery: redirect schemes, and minted tokens (re-minted). */
  const renews = (row: { authScheme: string }) => byRedirect(row) || isMintedScheme(row.authScheme);
  /** The account as it should be read now (abandoned redirects fail, near-expiry tokens refresh or are minted again). */
  const current = async (row: AccountRow) => (renews(row) ? oauth.fresh(row) : row);
  // Counting every matching row is the costliest part of a listing; a first page polled in a loop
  // reuses the count for COUNT_TTL_MS, and later pages carry it in their cursor.
  // Writes made through this process drop their project's counts at once; other replicas' writes
  // show within COUNT_TTL_MS.
  // Single flight: concurrent misses share one count, rather than each scanning the project (on a
  // large project, fifty clients opening the first page at once would otherwise run fifty counts).
  type Total = { n: number; exact: boolean };
  type CountEntry = { n: Promise<Total>; until: number };
  const counts = new Map<string, Map<string, CountEntry>>();
  function countCached(projectId: string, key: string, count: () => Promise<Total>): Promise<Total> {
    const hit = counts.get(projectId)?.get(key);
    if (hit && hit.until > Date.now()) return hit.n;
    if (counts.size > 1_000) counts.clear();
    const forProject = counts.get(projectId) ?? new Map<string, CountEntry>();
    if (forProject.size > 100) forProject.clear();
    // Reused while it runs, then for COUNT_TTL_MS; a failed count is forgotten at once.
    const entry: CountEntry = { n: count(), until: Number.POSITIVE_INFINITY };
    entry.n.then(
      () => void (entry.until = Date.now() + COUNT_TTL_MS),
      () => void (forProject.get(key) === entry && forProject.delete(key)),
    );
    forProject.set(key, entry);
    counts.set(projectId, forProject);
    return entry.n;
  }
  const changed = (projectId: string) => counts.delete(projectId);

  const openVal = store.open;
  /** A response carrying this account's secrets unmasked is a read of a secret: it is recorded. */
  const readsSecret = (caller: Caller, row: Pick<AccountRow, 'secretKeys'>) => !caller.maskCredentials && row.secretKeys.length > 0;
  const noteSecretRead = (caller: Caller, row: AccountRow, action: AuditAction = 'connected_account.read_secret') => {
    if (readsSecret(caller, row)) return deps.audit.recordRead({ projectId: caller.projectId, action, objectId: row.id });
    return undefined;
  };
  const masked = (val: Val, secretKeys: string[], mask: boolean): Val =>
    mask ? Object.fromEntries(Object.entries(val).map(([k, v]) => [k, secretKeys.includes(k) && v !== null && v !== undefined ? MASK : v])) : val;

  function toObject(row: ListedAccount, mask: boolean, full: boolean, unreadable = false): AccountObject {
    const val = { status: row.status, ...(unreadable ? {} : masked(openVal(row), row.secretKeys, mask)) };
    return {
      id: row.id,
      toolkit: { slug: row.toolkitSlug },
      auth_config: {
        id: row.authConfigId,
        auth_scheme: row.authScheme as AuthScheme,
        is_composio_managed: row.authConfig.isComposioManaged,
        is_disabled: row.authConfig.status === 'DISABLED',
      },
      user_id: row.userId,
      status: row.status as Status,
      // Derived, not stored: it follows the auth config both ways.
      status_reason: unreadable
        ? UNREADABLE
        : (row.statusReason ?? (row.authConfig.status === 'DISABLED' ? STATUS_REASONS.authConfigDisabled : null)),
      is_disabled: row.status === 'INACTIVE',
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
      state: { authScheme: row.authScheme as AuthScheme, val },
      data: val,
      ...(full ? { params: {} } : {}),
      word_id: row.wordId,
      alias: row.alias,
      // A SHARED account listed for another user keeps its owner's user_id; the ACL says who else may use it.
      experimental:
        row.accountType === 'SHARED'
          ? { account_type: 'SHARED', acl_config_for_shared: aclWire(aclOf(row)) }
          : { account_type: row.accountType as 'PRIVATE' | 'SHARED' },
      labels: row.labels,
    };
  }

  async function findOrThrow(projectId: string, id: string) {
    const row = await repo.find(projectId, id);
    if (!row) throw new AppError('ConnectedAccount_ResourceNotFound', `Connected account "${id}" not found`);
    return row;
  }

  /**
   * The account as `userId` may use it: a 403 when it is neither theirs nor SHARED with them
   * (shared-access.ts). Without a user id, the project's API key speaks for every user.
   */
  async function findForUser(projectId: string, id: string, userId: string | undefined) {
    const row = await findOrThrow(projectId, id);
    if (userId !== undefined && !mayUse(row, userId)) {
      throw new AppError(
        'ConnectedAccount_SharedAccessDenied',
        row.accountType === 'SHARED'
          ? `Connected account "${id}" is SHARED, but its ACL does not allow user "${userId}"`
          : `Connected account "${id}" belongs to another user`,
        { suggestedFix: 'Use an account of this user, or grant access with PATCH /connected_accounts/{id} {"experimental":{"acl_config_for_shared":…}}' },
      );
    }
    return row;
  }

  async function schemeOf(projectId: string, toolkitSlug: string, mode: string) {
    const toolkit = await toolkits.resolve(projectId, toolkitSlug).catch(() => undefined);
    return { toolkit, scheme: toolkit?.definition.auth_schemes.find((s) => s.mode === mode) };
  }

  const secretKeysOf = (scheme: AuthSchemeDefinition | undefined, val: Val) => secretKeys(scheme?.fields.connected_account_initiation ?? [], val);

  async function assertAliasFree(projectId: string, userId: string, toolkitSlug: string, alias: string, exceptId?: string) {
    if (await repo.aliasTaken(projectId, userId, toolkitSlug, alias, exceptId)) {
      throw AppError.final('ConnectedAccount_Conflict', `Alias "${alias}" is already used by this user's ${toolkitSlug} accounts`);
    }
  }

  /**
   * The first token of a minted account (S2S_OAUTH2, service accounts), before anything is written:
   * ACTIVE with it, or FAILED with the provider's refusal. A provider that cannot answer now (5xx,
   * 429, a timeout) is a 502 and nothing is written: the same request may well succeed in a moment.
   */
  async function mintFirst(projectId: string, authConfigId: string, toolkitSlug: string, authScheme: string, val: Val, secretKeys: string[]) {
    const cfg = await authConfigs.usableOrThrow(projectId, authConfigId);
    try {
      return await deps.minted.first({ projectId, toolkitSlug, authScheme, cfg, val, secretKeys });
    } catch (err) {
      throw mintError(err);
    }
  }

  return {
    openVal,
    findOrThrow,
    findForUser,
    /** The account as GET returns it, with every secret masked (webhook payloads). */
    maskedView: (row: AccountRow) => toObject(row, true, true),

    async create(caller: Caller, body: CreateAccountBody) {
      const { projectId } = caller;
      const cfg = { id: body.auth_config.id, ...(await authConfigs.fixedPartsOf(projectId, body.auth_config.id)) };
      const c = body.connection;
      const state = c.state ?? (c.data ? { authScheme: cfg.authScheme as AuthScheme, val: c.data } : undefined);
      if (state && state.authScheme !== cfg.authScheme) {
        throw new AppError('ConnectedAccount_InvalidRequest', `Auth config ${cfg.id} uses ${cfg.authScheme}, not ${state.authScheme}`);
      }
      if (REDIRECT_SCHEMES.includes(cfg.authScheme as AuthScheme) && !CONNECTED_BY_REDIRECT.includes(cfg.authScheme as AuthScheme) && !isMintedScheme(cfg.authScheme)) {
        throw new AppError('ConnectedAccount_NotSupported', `${cfg.authScheme} connections are not available in this version of Latchkey`);
      }
      const { scheme } = await schemeOf(projectId, cfg.toolkitSlug, cfg.authScheme);
      const val: Val = normaliseAccountFields(cfg.authScheme, { ...(state?.val ?? {}) });
      delete val.status;
      for (const k of Object.keys(val)) if (val[k] === null) delete val[k];
      const problems = [...checkFields(scheme?.fields.connected_account_initiation ?? [], val), ...deps.minted.check(cfg.authScheme, val)];
      if (problems.length) {
        throw new AppError('ConnectedAccount_InvalidRequest', `Invalid connection fields: ${problems.join('; ')}`, {
          errors: problems.map((p) => `connection.state.val.${p}`),
        });
      }
      const userId = c.user_id ?? 'default';
      const accountType = c.experimental?.account_type ?? 'PRIVATE';
      const acl = newAccountAcl(accountType, c.experimental?.acl_config_for_shared);
      const labels = c.labels ?? [];
      const alias = c.alias?.trim() || null;
      if (alias) await assertAliasFree(projectId, userId, cfg.toolkitSlug, alias);
      const id = newId('connectedAccount');
      if (CONNECTED_BY_REDIRECT.includes(cfg.authScheme as AuthScheme)) {
        // The user's fields (e.g. shop_name) were checked above against the toolkit's patterns; they
        // fill the provider's URL templates. The account waits for the callback in INITIATED.
        const cfgRow = await authConfigs.usableOrThrow(projectId, cfg.id);
        const callbackUrl = c.callback_url ?? c.redirect_uri ?? null;
        const started = await oauth.startNewAccount({
          projectId,
          cfg: cfgRow,
          values: val,
          callbackUrl,
          base: {
            id,
            projectId,
            authConfigId: cfg.id,
            toolkitSlug: cfg.toolkitSlug,
            userId,
            authScheme: cfg.authScheme,
            alias,
            wordId: newWordId(cfg.toolkitSlug),
            callbackUrl,
            accountType,
            labels,
            acl,
          },
        });
        changed(projectId);
        const { redirectUrl } = started;
        // OAuth2 answers the user's fields and the URL; the other schemes their whole INITIATED state (contract §2.3).
        const shown = cfg.authScheme === 'OAUTH2' ? { ...val, redirectUrl } : masked(started.val, started.secretKeys, caller.maskCredentials);
        return {
          id,
          connectionData: { authScheme: cfg.authScheme as AuthScheme, val: { status: 'INITIATED', ...shown } },
          status: 'INITIATED' as const,
          redirect_url: redirectUrl,
          redirect_uri: redirectUrl,
        };
      }
      let secretKeys = secretKeysOf(scheme, val);
      let status: Status = 'ACTIVE';
      let stored = val;
      let minted: Pick<NewAccount, 'tokenExpiresAt' | 'statusReason'> = {};
      if (isMintedScheme(cfg.authScheme)) {
        // The first token, before anything is written: ACTIVE with it, or FAILED with the refusal.
        const first = await mintFirst(projectId, cfg.id, cfg.toolkitSlug, cfg.authScheme, val, secretKeys);
        ({ status, val: stored, secretKeys } = first);
        minted = { tokenExpiresAt: first.tokenExpiresAt, statusReason: first.reason };
      }
      let created: boolean;
      try {
        created = await store.create({
          id,
          projectId,
          authConfigId: cfg.id,
          toolkitSlug: cfg.toolkitSlug,
          userId,
          authScheme: cfg.authScheme,
          status,
          val: stored,
          secretKeys,
          ...minted,
          alias,
          wordId: newWordId(cfg.toolkitSlug),
          callbackUrl: c.callback_url ?? c.redirect_uri ?? null,
          accountType,
          labels,
          acl,
        });
      } catch (err) {
        // A concurrent create took the alias between the check and the insert.
        if ((err as { code?: string }).code === 'P2002') await assertAliasFree(projectId, userId, cfg.toolkitSlug, alias ?? '');
        throw err;
      }
      // Not inserted: the config was deleted or disabled since; say which.
      if (!created) await authConfigs.usableOrThrow(projectId, cfg.id);
      changed(projectId);
      return {
        id,
        connectionData: { authScheme: cfg.authScheme as AuthScheme, val: { status, ...masked(stored, secretKeys, caller.maskCredentials) } },
        status,
        redirect_url: null,
        redirect_uri: null,
      };
    },

    async get(caller: Caller, id: string) {
      const row = await current(await findOrThrow(caller.projectId, id));
      const out = toObject(row, caller.maskCredentials, true);
      await noteSecretRead(caller, row);
      return out;
    },

    /** Latchkey extension: refresh an OAuth token now, whatever its expiry. */
    async refreshToken(caller: Caller, id: string) {
      const row = await findOrThrow(caller.projectId, id);
      if (!REFRESHABLE.includes(row.authScheme as AuthScheme) && !isMintedScheme(row.authScheme)) {
        throw new AppError('ConnectedAccount_NotSupported', `${row.authScheme} accounts have no token to refresh`);
      }
      const fresh = await oauth.refreshNow(row);
      const out = toObject(fresh, caller.maskCredentials, true);
      await noteSecretRead(caller, fresh);
      return out;
    },

    async list(caller: Caller, q: ListAccountsQuery) {
      const cursor = q.cursor ? decodeCursor(q.cursor, CursorShape) : undefined;
      if (cursor && (cursor.o !== q.order_by || cursor.d !== q.order_direction)) {
        throw new AppError('Request_InvalidCursor', 'This cursor belongs to another ordering', { suggestedFix: 'Keep order_by and order_direction while paging' });
      }
      const by = q.order_by === 'created_at' ? 'createdAt' : 'updatedAt';
      const filters = { userIds: q.user_ids, toolkitSlugs: q.toolkit_slugs, authConfigIds: q.auth_config_ids, ids: q.connected_account_ids, statuses: q.statuses, accountType: q.account_type, labels: q.labels };
      const rows = await repo.list(
        caller.projectId,
        filters,
        { by, dir: q.order_direction },
        { after: cursor && { at: new Date(cursor.v), id: cursor.i }, limit: q.limit },
      );
      const counted = cursor
        ? { n: cursor.t, exact: cursor.e !== 1 }
        : await countCached(caller.projectId, JSON.stringify(filters), () => repo.countUpTo(caller.projectId, filters, deps.exactTotalUpTo ?? EXACT_TOTAL_UP_TO));
      const page = rows.slice(0, q.limit);
      const current = cursor?.p ?? 1;
      const last = page[page.length - 1];
      const hasMore = rows.length > q.limit;
      // An estimate never contradicts what the listing has shown, and the last page knows the truth.
      const seen = (current - 1) * q.limit + page.length;
      const total = counted.exact ? counted.n : hasMore ? Math.max(counted.n, seen + 1) : seen;
      // One read record for the page, naming the accounts whose credentials it returned, in page order.
      const read: string[] = [];
      const items = page.map((r) => {
        // One row that cannot be opened must not take the whole page down: list it without credentials.
        try {
          const out = toObject(r, caller.maskCredentials, false);
          if (readsSecret(caller, r)) read.push(r.id);
          return out;
        } catch (err) {
          if (!(err instanceof DecryptError)) throw err;
          deps.onUnreadable?.(r.id);
          return toObject(r, caller.maskCredentials, false, true);
        }
      });
      if (read.length) await deps.audit.recordRead({ projectId: caller.projectId, action: 'connected_account.list_secrets', objectId: caller.projectId, objectIds: read });
      return {
        items,
        // The page number rides in the cursor, so a deep page costs what the first one does.
        next_cursor:
          hasMore && last
            ? encodeCursor({ o: q.order_by, d: q.order_direction, v: last[by].toISOString(), i: last.id, p: current + 1, t: total, ...(counted.exact ? {} : { e: 1 }) })
            : null,
        total_items: total,
        total_pages: Math.max(1, Math.ceil(total / q.limit)),
        current_page: current,
      };
    },

    async update(caller: Caller, id: string, body: UpdateAccountBody) {
      const { projectId } = caller;
      const row = await findOrThrow(projectId, id);
      const acl = body.experimental?.acl_config_for_shared;
      if (acl && row.accountType !== 'SHARED') throw new AppError('ConnectedAccount_InvalidRequest', ACL_ONLY_FOR_SHARED);
      const type = body.experimental?.account_type;
      if (type && type !== row.accountType) {
        throw new AppError('ConnectedAccount_InvalidRequest', `account_type cannot be changed (this account is ${row.accountType})`, {
          suggestedFix: 'Create a new connected account of the other type',
        });
      }
      const data: Parameters<typeof store.patch>[1] = {};
      if (acl) data.acl = applyAcl(aclOf(row), acl);
      if (body.labels !== undefined) data.labels = body.labels;
      if (body.alias !== undefined) {
        const alias = body.alias?.trim() || null;
        if (alias) await assertAliasFree(projectId, row.userId, row.toolkitSlug, alias, id);
        data.alias = alias;
      }
      if (body.connection) {
        const { state } = body.connection;
        if (state.authScheme !== row.authScheme) {
          throw new AppError('ConnectedAccount_InvalidRequest', `This account uses ${row.authScheme}, not ${state.authScheme}`);
        }
        if (!PATCHABLE.includes(row.authScheme as AuthScheme)) {
          throw new AppError('ConnectedAccount_NotSupported', `${row.authScheme} credentials cannot be patched; re-authorise instead`);
        }
        // Omitted keeps a value, null removes it.
        const val = openVal(row);
        for (const [k, v] of Object.entries(state.val)) {
          if (k === 'status') continue;
          if (v === null) delete val[k];
          else val[k] = v;
        }
        const { scheme } = await schemeOf(projectId, row.toolkitSlug, row.authScheme);
        const fields = normaliseAccountFields(row.authScheme, val);
        const problems = [...checkFields(scheme?.fields.connected_account_initiation ?? [], fields), ...deps.minted.check(row.authScheme, fields)];
        if (problems.length) {
          throw new AppError('ConnectedAccount_InvalidRequest', `Invalid connection fields: ${problems.join('; ')}`, {
            errors: problems.map((p) => `connection.state.val.${p}`),
          });
        }
        data.val = fields;
        data.secretKeys = [...new Set([...secretKeysOf(scheme, fields), ...(isMintedScheme(row.authScheme) ? row.secretKeys : [])])];
        // New key material: the token minted with the old one is replaced at the next read.
        if (isMintedScheme(row.authScheme)) {
          data.tokenExpiresAt = new Date(0);
          data.refreshFailures = 0;
          data.nextRefreshAt = null;
        }
      }
      changed(projectId);
      if (!(await store.patch(row, data))) {
        throw AppError.final('ConnectedAccount_Conflict', 'The account changed during the update; retry');
      }
      return { success: true, id, status: row.status as Status };
    },

    async setEnabled(caller: Caller, id: string, enabled: boolean) {
      const row = await findOrThrow(caller.projectId, id);
      const to = enabled ? 'ACTIVE' : 'INACTIVE';
      if (to !== row.status) {
        changed(caller.projectId);
        if (!(await store.move(row, to, { reason: enabled ? null : STATUS_REASONS.userUpdated }))) {
          throw AppError.final('ConnectedAccount_Conflict', 'The account changed during the update; retry');
        }
      }
      return { success: true };
    },

    async remove(caller: Caller, id: string, revokeOnDelete = false) {
      changed(caller.projectId);
      if (revokeOnDelete) {
        // Revoke first: if the provider fails, nothing is deleted and the answer says so.
        const row = await findOrThrow(caller.projectId, id);
        if (isOAuth2(row) && row.status === 'ACTIVE') {
          const { scheme } = await schemeOf(caller.projectId, row.toolkitSlug, row.authScheme);
          if (scheme?.oauth2?.revocation_url) await oauth.revoke(row, await authConfigs.findOrThrow(caller.projectId, row.authConfigId), STATUS_REASONS.revokedOnDelete);
        }
      }
      if (!(await store.softDelete(caller.projectId, id))) {
        throw new AppError('ConnectedAccount_ResourceNotFound', `Connected account "${id}" not found`);
      }
      return { success: true };
    },

    /**
     * OAuth2: re-authorisation — a new consent for the same account id (INITIATED with a redirect URL).
     * `redirectUrl` (the SDK's `redirect_url`) is where the callback then sends the browser.
     * Credential accounts have nothing to refresh: the answer reports the account as it is.
     */
    async refresh(caller: Caller, id: string, redirectUrl?: string) {
      const row = await findOrThrow(caller.projectId, id);
      if (byRedirect(row)) {
        // Refused before the provider's URL is built (the store checks again when it writes).
        transition(row.status as Status, 'INITIATED');
        const cfg = await authConfigs.usableOrThrow(caller.projectId, row.authConfigId);
        const authorizeUrl = await oauth.reinitiate(row, cfg, { callbackUrl: redirectUrl });
        changed(caller.projectId);
        return { id, status: 'INITIATED' as const, redirect_url: authorizeUrl };
      }
      if (REDIRECT_SCHEMES.includes(row.authScheme as AuthScheme) && !isMintedScheme(row.authScheme)) {
        throw new AppError('ConnectedAccount_NotSupported', `${row.authScheme} re-authorisation is not available in this version of Latchkey`);
      }
      return { id, status: row.status as Status, redirect_url: null };
    },

    async revoke(caller: Caller, id: string) {
      const row = await findOrThrow(caller.projectId, id);
      const { scheme } = await schemeOf(caller.projectId, row.toolkitSlug, row.authScheme);
      if (!isOAuth2(row) || !scheme?.oauth2?.revocation_url) {
        throw new AppError('ConnectedAccount_NotSupported', `Revocation is not supported for ${row.toolkitSlug} ${row.authScheme} accounts`, {
          suggestedFix: 'Revoke the credential at the provider, then delete the account',
        });
      }
      if (row.status === 'REVOKED') return { revoked_tokens: [], connected_account: { id, status: 'REVOKED' as const } };
      if (row.status !== 'ACTIVE') throw AppError.final('ConnectedAccount_InvalidTransition', `Only ACTIVE accounts can be revoked; this one is ${row.status}`);
      const revoked = await oauth.revoke(row, await authConfigs.findOrThrow(caller.projectId, row.authConfigId), STATUS_REASONS.userRevoked);
      changed(caller.projectId);
      return { revoked_tokens: revoked, connected_account: { id, status: 'REVOKED' as const } };
    },

    /** `userId`: the user the parameters are for (the account must be theirs or SHARED with them). */
    async authParams(caller: Caller, id: string, userId?: string, request?: { method?: string; url?: string }) {
      const row = await current(await findForUser(caller.projectId, id, userId));
      if (row.status !== 'ACTIVE') {
        throw AppError.final('ConnectedAccount_InvalidTransition', `The account is ${row.status}; auth params need an ACTIVE account`);
      }
      const { toolkit, scheme } = await schemeOf(caller.projectId, row.toolkitSlug, row.authScheme);
      if (!toolkit) throw new AppError('Toolkit_ResourceNotFound', `Toolkit ${row.toolkitSlug} not found`);
      const cfg = await authConfigs.findOrThrow(caller.projectId, row.authConfigId);
      const cfgCreds = authConfigs.openCredentials(cfg);
      const publicCfg = Object.fromEntries(Object.entries(cfgCreds).filter(([k]) => !cfg.secretKeys.includes(k)));
      const val = masked(openVal(row), row.secretKeys, caller.maskCredentials);
      const params = computeAuthParams(toolkit.definition, scheme, { ...publicCfg, ...val });
      if (row.authScheme === 'OAUTH1' && deps.signOAuth1) {
        // OAuth 1.0a signs each request: the header is for this method and URL (the base URL when none is given).
        const url = signedUrl(params.base_url, request?.url);
        if (caller.maskCredentials) {
          params.parameters.push({ name: 'Authorization', in: 'header', value: MASK });
        } else {
          params.parameters.push({ name: 'Authorization', in: 'header', value: await deps.signOAuth1(cfg, openVal(row), { method: request?.method ?? 'GET', url }) });
        }
      }
      await noteSecretRead(caller, row, 'connected_account.read_auth_params');
      return params;
    },
  };
}
export type ConnectedAccountsService = ReturnType<typeof connectedAccountsService>;

/** The URL an OAuth 1.0a header is computed for: the toolkit's base URL, or a URL on its host. */
function signedUrl(baseUrl: string, url: string | undefined): string {
  if (!url) return baseUrl;
  let base: URL | undefined;
  let target: URL | undefined;
  try {
    base = new URL(baseUrl);
    target = new URL(url, base);
  } catch {
    throw new AppError('ConnectedAccount_InvalidRequest', 'url is not a valid URL');
  }
  if (target.origin !== base.origin) {
    throw new AppError('ConnectedAccount_InvalidRequest', `url must be on the provider's API host (${base.origin})`);
  }
  return target.href;
}
