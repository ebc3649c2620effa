/**
 * Connect Links: the app asks for a link, sends its user there, and Latchkey collects the
 * credentials (or runs OAuth) on its own page, so credentials never pass through the app.
 * - The account exists from the start (INITIALIZING), so the app knows its id at once.
 * - The token is random and single-use; only its HMAC is stored. It lives for the project's
 *   link_ttl_seconds (10 minutes by default); an expired link leaves the account FAILED, with a
 *   reason that states that lifetime.
 * - The account is written through the connected-accounts store; this module writes only its link
 *   sessions (in the store's transaction when the account is created).
 * - The page reveals nothing beyond the toolkit and the project's display name.
 */
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId, newLinkToken, newWordId } from '../../lib/ids.js';
import type { AuthConfigsService } from '../auth-configs/auth-configs.service.js';
import type { AccountStore } from '../connected-accounts/account-store.js';
import type { AccountRow, ConnectedAccountsRepository } from '../connected-accounts/connected-accounts.repository.js';
import { checkFields, secretKeys } from '../toolkits/fields.js';
import { STATUS_REASONS } from '../connected-accounts/state-machine.js';
import type { OAuthService } from '../oauth/oauth.service.js';
import type { Caller } from '../projects/projects.service.js';
import { type AuthSchemeDefinition, type ToolkitField, logoOf, templateNames } from '../toolkits/toolkit-definition.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import { fill } from '../connected-accounts/auth-params.js';
import { aclWire, newAccountAcl } from '../connected-accounts/shared-access.js';
import { type MintedTokens, isMintedScheme, mintError, normaliseAccountFields } from '../connected-accounts/minted-tokens.js';
import type { ConnectLinksRepository } from './connect-links.repository.js';
import type { CreateLinkBody } from './connect-links.schemas.js';

type Val = Record<string, unknown>;

export class LinkPageError extends Error {
  constructor(
    readonly kind: 'invalid' | 'used' | 'expired' | 'closed',
    readonly userMessage: string,
  ) {
    super(userMessage);
    this.name = 'LinkPageError';
  }
}

export type PageModel = {
  sessionId: string;
  account: AccountRow;
  /** The operator's product as the end user should read it, or null for a generic wording. */
  productName: string | null;
  brandLogoUrl: string | null;
  accent: string;
  toolkitName: string;
  toolkitLogo: string;
  /** The scheme's "where do I find my key?" page, if the catalogue knows one. */
  authHintUrl: string | null;
  mode: 'OAUTH2' | 'FIELDS';
  /** The fields the page asks for (OAuth2: only those needed before the redirect). */
  fields: ToolkitField[];
  /** Values already known (connection_data), which the page does not ask for again. */
  prefilled: Val;
  /** OAuth2: the provider's authorize origin, or null while it depends on fields not yet given. */
  authorizeOrigin: string | null;
  /** Origins a submit may lead to: the app's callback and (OAuth2) the provider's authorize page. */
  formTargets: string[];
};

/** The name of the auto-created project: a placeholder, never shown to end users. */
const DEFAULT_PROJECT_NAME = 'default';

/** An http(s) URL's origin, or null (unparseable, or another scheme). */
/** Schemes the page completes by sending the browser to the provider. */
const REDIRECT_MODES = ['OAUTH2', 'OAUTH1', 'DCR_OAUTH', 'CIMD_OAUTH'];

function originOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null;
  } catch {
    return null;
  }
}

/** Where a `{{field}}` URL template leads, once every field has a value (Shopify's shop_name, say); null before. */
function templateOrigin(template: string | undefined, values: Val): string | null {
  if (!template || !templateNames(template).every((n) => typeof values[n] === 'string' && values[n] !== '')) return null;
  return originOf(fill(template, values));
}

export function connectLinksService(deps: {
  repo: ConnectLinksRepository;
  accounts: Pick<ConnectedAccountsRepository, 'find' | 'aliasTaken'>;
  store: Pick<AccountStore, 'open' | 'create' | 'move' | 'patch'>;
  authConfigs: Pick<AuthConfigsService, 'usableOrThrow'>;
  toolkits: Pick<ToolkitsService, 'resolve'>;
  oauth: Pick<OAuthService, 'reinitiate' | 'authorizationEndpoint'>;
  /** Minted-token schemes: the key's checks and the first token, before the account completes. */
  minted: Pick<MintedTokens, 'check' | 'first'>;
  crypto: Pick<Crypto, 'hmac'>;
  publicUrl: string;
}) {
  const { repo, accounts, store, crypto } = deps;
  const hash = (token: string) => crypto.hmac(`link:${token}`);
  const openVal = store.open;
  const lifetime = (session: { createdAt: Date; expiresAt: Date }) => session.expiresAt.getTime() - session.createdAt.getTime();

  async function schemeOf(projectId: string, slug: string, mode: string) {
    const toolkit = await deps.toolkits.resolve(projectId, slug);
    const scheme = toolkit.definition.auth_schemes.find((s) => s.mode === mode);
    return { toolkit, scheme };
  }

  const secretKeysOf = (scheme: AuthSchemeDefinition | undefined, val: Val) => secretKeys(scheme?.fields.connected_account_initiation ?? [], val);

  /** The session behind a token, if it may still be used; otherwise a LinkPageError for the page. */
  async function open(token: string): Promise<PageModel> {
    if (!/^lt_[0-9A-Za-z]{20,80}$/.test(token)) throw new LinkPageError('invalid', 'This link is not valid.');
    const session = await repo.findByHash(hash(token));
    if (!session) throw new LinkPageError('invalid', 'This link is not valid.');
    if (session.usedAt) throw new LinkPageError('used', 'This link was already used. Ask the app for a new one.');
    const account = await accounts.find(session.projectId, session.accountId);
    if (session.expiresAt.getTime() < Date.now()) {
      if (account?.status === 'INITIALIZING') {
        await store.move(account, 'FAILED', { reason: STATUS_REASONS.initiationTimeout(lifetime(session)) });
      }
      throw new LinkPageError('expired', 'This link has expired. Ask the app for a new one.');
    }
    if (!account || account.status !== 'INITIALIZING') throw new LinkPageError('closed', 'This link can no longer be used.');
    const project = await repo.project(session.projectId);
    const { toolkit, scheme } = await schemeOf(account.projectId, account.toolkitSlug, account.authScheme);
    const prefilled = openVal(account);
    const all = scheme?.fields.connected_account_initiation ?? [];
    const isOAuth = REDIRECT_MODES.includes(account.authScheme);
    // Where the form's redirect goes: the provider's authorize URL (OAuth 1.0a's from the toolkit too;
    // an MCP server's was discovered when the link was made).
    const authorizeOrigin = !isOAuth
      ? null
      : account.authScheme === 'OAUTH1'
        ? templateOrigin(scheme?.oauth1?.authorize_url, prefilled)
        : account.authScheme === 'OAUTH2'
          ? templateOrigin(scheme?.oauth2?.authorization_url, prefilled)
          : originOf(typeof prefilled.authorization_endpoint === 'string' ? prefilled.authorization_endpoint : undefined);
    const callbackOrigin = originOf(typeof prefilled.callback_url === 'string' ? prefilled.callback_url : undefined);
    const productName = project?.brandName || (project && project.name !== DEFAULT_PROJECT_NAME ? project.name : null);
    return {
      formTargets: [...new Set([callbackOrigin, authorizeOrigin].filter((o): o is string => o !== null))],
      authorizeOrigin,
      sessionId: session.id,
      account,
      productName,
      brandLogoUrl: project?.brandLogoUrl ?? null,
      accent: project?.brandAccent ?? '#3558e6',
      toolkitName: toolkit.definition.name,
      toolkitLogo: logoOf(toolkit.definition),
      authHintUrl: scheme?.auth_hint_url ?? null,
      mode: isOAuth ? 'OAUTH2' : 'FIELDS',
      fields: all.filter((f) => prefilled[f.name] === undefined || prefilled[f.name] === ''),
      prefilled,
    };
  }

  return {
    open,

    async create(caller: Caller, body: CreateLinkBody) {
      const { projectId } = caller;
      const cfg = await deps.authConfigs.usableOrThrow(projectId, body.auth_config_id);
      if (![...REDIRECT_MODES, 'API_KEY', 'BEARER_TOKEN', 'BASIC', 'BASIC_WITH_JWT', 'NO_AUTH', 'GOOGLE_SERVICE_ACCOUNT', 'SERVICE_ACCOUNT', 'S2S_OAUTH2'].includes(cfg.authScheme)) {
        throw new AppError('ConnectedAccount_NotSupported', `${cfg.authScheme} connections are not available in this version of Latchkey`);
      }
      const { scheme } = await schemeOf(projectId, cfg.toolkitSlug, cfg.authScheme);
      const val: Val = Object.fromEntries(Object.entries(body.connection_data ?? {}).filter(([k, v]) => v !== null && k !== 'status'));
      // Pre-filled values must already be valid; missing ones are asked for on the page.
      const given = (scheme?.fields.connected_account_initiation ?? []).filter((f) => val[f.name] !== undefined);
      const problems = checkFields(given, val);
      if (problems.length) {
        throw new AppError('ConnectedAccount_InvalidRequest', `Invalid connection_data: ${problems.join('; ')}`, { errors: problems.map((p) => `connection_data.${p}`) });
      }
      const accountType = body.experimental?.account_type ?? 'PRIVATE';
      const acl = newAccountAcl(accountType, body.experimental?.acl_config_for_shared);
      const alias = body.alias?.trim() || null;
      if (alias && (await accounts.aliasTaken(projectId, body.user_id, cfg.toolkitSlug, alias))) {
        throw AppError.final('ConnectedAccount_Conflict', `Alias "${alias}" is already used by this user's ${cfg.toolkitSlug} accounts`);
      }
      const project = await repo.project(projectId);
      const ttl = (project?.linkTtlSeconds ?? 600) * 1000;
      const token = newLinkToken();
      const id = newId('connectedAccount');
      // Both ends from one clock, so the link's lifetime (stated in an expiry's reason) is exact.
      const createdAt = new Date();
      const expiresAt = new Date(createdAt.getTime() + ttl);
      // An MCP server's authorization server is discovered now: a server that cannot be connected is
      // a 400 here rather than on the user's page, and the page can name its address in its CSP.
      const discovered = cfg.authScheme === 'DCR_OAUTH' || cfg.authScheme === 'CIMD_OAUTH' ? { authorization_endpoint: await deps.oauth.authorizationEndpoint(cfg) } : {};
      const state = { ...val, ...discovered, ...(body.callback_url ? { callback_url: body.callback_url } : {}) };
      await store.create(
        {
          id,
          projectId,
          authConfigId: cfg.id,
          toolkitSlug: cfg.toolkitSlug,
          userId: body.user_id,
          authScheme: cfg.authScheme,
          status: 'INITIALIZING',
          val: state,
          secretKeys: secretKeysOf(scheme, state),
          alias,
          wordId: newWordId(cfg.toolkitSlug),
          callbackUrl: body.callback_url ?? null,
          accountType,
          acl,
        },
        (tx) => repo.createSession({ id: newId('linkSession'), projectId, accountId: id, tokenHash: new Uint8Array(hash(token)), createdAt, expiresAt }, tx),
      );
      return {
        link_token: token,
        redirect_url: `${deps.publicUrl}/link/${token}`,
        expires_at: expiresAt.toISOString(),
        connected_account_id: id,
        experimental: acl ? { account_type: 'SHARED' as const, acl_config_for_shared: aclWire(acl) } : { account_type: 'PRIVATE' as const },
      };
    },

    /**
     * The page's form. Returns field errors (the page shows them, keeping non-secret values), a
     * page to confirm (OAuth2 whose provider address depends on the fields just given: the page
     * that sent them could not name it in its CSP, so the next one does), or where the browser goes
     * next: the provider (OAuth2) or the app's callback.
     */
    async submit(token: string, form: Record<string, string>): Promise<
      | { errors: Record<string, string>; model: PageModel }
      | { confirm: PageModel }
      | { redirect: string; account: AccountRow; done: boolean }
    > {
      const model = await open(token);
      const { account } = model;
      const { scheme } = await schemeOf(account.projectId, account.toolkitSlug, account.authScheme);
      const val: Val = { ...model.prefilled };
      for (const f of model.fields) {
        const v = form[f.name];
        if (typeof v === 'string' && v.trim() !== '') val[f.name] = f.is_secret ? v : v.trim();
      }
      const toCheck = model.mode === 'OAUTH2' ? model.fields.filter((f) => f.required || val[f.name] !== undefined) : (scheme?.fields.connected_account_initiation ?? []);
      const errors: Record<string, string> = {};
      for (const p of checkFields(toCheck, val)) {
        const [name, what] = p.split(': ');
        errors[name!] = what === 'required' ? 'This field is required.' : 'This value does not have the expected format.';
      }
      // A key file or App key that cannot be used says which of its parts is wrong (never its value).
      if (!Object.keys(errors).length && isMintedScheme(account.authScheme)) {
        for (const p of deps.minted.check(account.authScheme, normaliseAccountFields(account.authScheme, val))) {
          const [name, ...what] = p.split(': ');
          const field = name!.split('.')[0]!;
          errors[field] = errors[field] ?? `This value is not usable: ${what.join(': ')}.`;
        }
      }
      if (Object.keys(errors).length) return { errors, model };
      if (model.mode === 'OAUTH2' && !model.authorizeOrigin && templateOrigin(scheme?.oauth2?.authorization_url, val)) {
        // Kept on the pending account (the link is not used up); the next page shows no fields.
        const kept = account.status === 'INITIALIZING' && (await store.patch(account, { val }));
        if (!kept) throw new LinkPageError('closed', 'This link can no longer be used.');
        return { confirm: await open(token) };
      }
      if (!(await repo.claim(model.sessionId))) throw new LinkPageError('used', 'This link was already used. Ask the app for a new one.');
      try {
        if (model.mode === 'OAUTH2') {
          const cfg = await deps.authConfigs.usableOrThrow(account.projectId, account.authConfigId);
          const redirect = await deps.oauth.reinitiate(account, cfg, { values: val });
          return { redirect, account: (await accounts.find(account.projectId, account.id)) ?? account, done: false };
        }
        const { callback_url: _cb, ...credentials } = val;
        let ok: boolean;
        if (isMintedScheme(account.authScheme)) {
          // The first token now: ACTIVE with it, or FAILED with the provider's refusal.
          const cfg = await deps.authConfigs.usableOrThrow(account.projectId, account.authConfigId);
          const fields = normaliseAccountFields(account.authScheme, credentials);
          const t = await deps.minted
            .first({ projectId: account.projectId, toolkitSlug: account.toolkitSlug, authScheme: account.authScheme, cfg, val: fields, secretKeys: secretKeysOf(scheme, fields) })
            .catch((err: unknown) => {
              throw mintError(err);
            });
          const { status, reason, ...change } = t;
          ok = await store.move(account, status, { ...change, val: { ...change.val, ...(typeof val.callback_url === 'string' ? { callback_url: val.callback_url } : {}) }, reason });
        } else {
          ok = await store.move(account, 'ACTIVE', { val, secretKeys: secretKeysOf(scheme, credentials) });
        }
        if (!ok) throw new LinkPageError('closed', 'This link can no longer be used.');
        const done = (await accounts.find(account.projectId, account.id))!;
        return { redirect: typeof val.callback_url === 'string' ? val.callback_url : '', account: done, done: true };
      } catch (err) {
        // Nothing was completed: the link stays usable for another try.
        if (!(err instanceof LinkPageError)) await repo.release(model.sessionId);
        throw err;
      }
    },

    /** Pending accounts whose link expired unused become FAILED, each saying how long its link lived. */
    async expireUnused() {
      let failed = 0;
      for (const s of await repo.expiredUnused(500)) {
        const ref = { projectId: s.projectId, id: s.accountId, status: 'INITIALIZING' };
        if (await store.move(ref, 'FAILED', { reason: STATUS_REASONS.initiationTimeout(lifetime(s)) })) failed++;
      }
      return failed;
    },
  };
}
export type ConnectLinksService = ReturnType<typeof connectLinksService>;
