/**
 * The provider proxy: a request to the provider made as the connected user, with the credential
 * put on by Latchkey, so the app never holds the token. See README.md for the invariants.
 *
 * - Credentials go only where the toolkit says they belong: the host of the account's base URL
 *   (templates filled) or one of the toolkit's `api_hosts`. Every connection goes through the
 *   egress guard's agents, so a templated host cannot reach an internal address.
 * - A caller header or query parameter that would replace the injected credential is refused.
 * - OAuth2 tokens near expiry are refreshed before use (single-flight); a 401 from the provider is
 *   refreshed and retried once when the request can be replayed. An OAUTH1 account (no refresh)
 *   answered 401 becomes EXPIRED.
 * - Every call is recorded without its bodies, query values or credentials.
 * - A binary response kept for download is sealed at rest like every credential.
 */
import type { IncomingMessage } from 'node:http';
import { type Readable } from 'node:stream';
import { z } from 'zod';
import { type Crypto, DecryptError } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newFileId, newOrderedId } from '../../lib/ids.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import type { AuthConfigRow } from '../auth-configs/auth-configs.repository.js';
import { sealedValues } from '../../lib/sealed.js';
import type { AuthConfigsService } from '../auth-configs/auth-configs.service.js';
import { type AuthParams, computeAuthParams } from '../connected-accounts/auth-params.js';
import type { AccountRow } from '../connected-accounts/connected-accounts.repository.js';
import type { ConnectedAccountsService } from '../connected-accounts/connected-accounts.service.js';
import type { Egress } from '../egress/egress.js';
import type { OAuthService } from '../oauth/oauth.service.js';
import { isMintedScheme } from '../connected-accounts/minted-tokens.js';
import type { Caller } from '../projects/projects.service.js';
import type { ToolkitsService } from '../toolkits/toolkits.service.js';
import type { ProxyRepository } from './proxy.repository.js';
import type { ProxyBody } from './proxy.schemas.js';
import { accountRateLimiter } from './rate-limiter.js';
import { describeBody } from './response-body.js';
import { byteLimit, hopByHop, readBounded, responseHeaders, send, upstreamError } from './upstream.js';
import type { AuditService } from '../audit/audit.service.js';

export type ProxySettings = {
  publicUrl: string;
  timeoutMs: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Calls per connected account per minute. */
  accountRateLimit: number;
  fileTtlMs: number;
  retentionDays: number;
};

/** Request headers the pass-through forwards (besides `x-…` ones that are not Latchkey's own). */
const FORWARDED = new Set([
  'accept', 'accept-encoding', 'accept-language', 'cache-control', 'content-type', 'content-encoding', 'content-language',
  'content-length', 'content-disposition', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if-range',
  'range', 'prefer', 'idempotency-key', 'user-agent', 'origin', 'referer',
]);
/** Never forwarded: Latchkey's own credentials and request plumbing. */
const LATCHKEY_HEADERS = /^(x-api-key|x-user-api-key|x-org-api-key|x-request-id|x-forwarded-.*|x-real-ip)$/;
/** Headers a caller may never set: they carry credentials or framing Latchkey owns. */
const CALLER_FORBIDDEN = new Set(['authorization', 'proxy-authorization', 'host', 'content-length', 'cookie']);

const CursorShape = z.object({ v: z.iso.datetime(), i: z.string().max(64) });

type Target = { row: AccountRow; auth: AuthParams; url: URL };
type Outcome = { status: number | null; error: string | null; bytesIn: number; bytesOut: number };

export function proxyService(deps: {
  repo: ProxyRepository;
  accounts: Pick<ConnectedAccountsService, 'findOrThrow' | 'openVal'>;
  authConfigs: Pick<AuthConfigsService, 'findOrThrow' | 'openCredentials'>;
  toolkits: Pick<ToolkitsService, 'resolve'>;
  oauth: Pick<OAuthService, 'fresh' | 'refreshNow' | 'expireRejected'>;
  /** OAUTH1: the `Authorization: OAuth …` header for one request (method, final URL, form body). */
  signOAuth1?: (cfg: AuthConfigRow, val: Record<string, unknown>, req: { method: string; url: string; form?: URLSearchParams }) => Promise<string>;
  egress: Egress;
  crypto: Pick<Crypto, 'seal' | 'open'>;
  settings: ProxySettings;
  log: (msg: string, extra?: object) => void;
  /** Every proxied call used a credential: each is in the audit log (buffered, off the request path). */
  audit: Pick<AuditService, 'recordRead'>;
}) {
  const { repo, accounts, settings: s } = deps;
  const limiter = accountRateLimiter(s.accountRateLimit, 60_000);
  const sealed = sealedValues(deps.crypto);
  /** A file's body as stored: sealed values are text, so its base64 is sealed, bound to project and file. */
  const sealBody = (projectId: string, id: string, bytes: Buffer) => sealed.seal('proxyFileBytes', projectId, id, bytes.toString('base64'));
  const isOAuth2 = (row: AccountRow) => row.authScheme === 'OAUTH2';
  /** Schemes read through the oauth service (abandoned redirects fail, tokens refresh). */
  const byRedirect = (row: AccountRow) => ['OAUTH2', 'OAUTH1', 'DCR_OAUTH', 'CIMD_OAUTH'].includes(row.authScheme);
  /** Accounts whose tokens the refresh machinery keeps fresh: redirect schemes, and minted tokens (asked again). */
  const renews = (row: AccountRow) => byRedirect(row) || isMintedScheme(row.authScheme);
  /** Schemes whose 401 is answered by one refresh and a retry (minted tokens: one new mint and a retry). */
  const refreshable = (row: AccountRow) => isOAuth2(row) || row.authScheme === 'DCR_OAUTH' || row.authScheme === 'CIMD_OAUTH';

  /** The account, usable now: ACTIVE, its token refreshed first when close to expiry. */
  async function usableAccount(caller: Caller, id: string) {
    let row = await accounts.findOrThrow(caller.projectId, id);
    limiter.take(row.id);
    if (renews(row)) row = await deps.oauth.fresh(row);
    if (row.status !== 'ACTIVE') {
      throw AppError.final('Proxy_AccountNotActive', `The account is ${row.status}; the proxy needs an ACTIVE account`, {
        suggestedFix: row.status === 'INACTIVE' ? 'Enable the account first' : 'Re-authorise the account (POST /connected_accounts/{id}/refresh)',
      });
    }
    return row;
  }

  /** How the credential goes on a request, from the toolkit's rules, filled with the real values. */
  async function credentialsOf(caller: Caller, row: AccountRow) {
    const toolkit = await deps.toolkits.resolve(caller.projectId, row.toolkitSlug);
    const scheme = toolkit.definition.auth_schemes.find((x) => x.mode === row.authScheme);
    const cfg = await deps.authConfigs.findOrThrow(caller.projectId, row.authConfigId);
    const creds = deps.authConfigs.openCredentials(cfg);
    const publicCfg = Object.fromEntries(Object.entries(creds).filter(([k]) => !cfg.secretKeys.includes(k)));
    return { auth: computeAuthParams(toolkit.definition, scheme, { ...publicCfg, ...accounts.openVal(row) }), apiHosts: toolkit.definition.api_hosts ?? [] };
  }

  /** The provider URL of `endpoint`: relative to the base URL, or absolute on a host the toolkit owns. */
  function resolveEndpoint(baseUrl: string, endpoint: string, apiHosts: string[]): URL {
    let base: URL;
    try {
      base = new URL(baseUrl);
    } catch {
      throw new AppError('Proxy_InvalidRequest', "This account's toolkit has no usable base URL");
    }
    let url: URL;
    if (/^[a-z][a-z0-9+.-]*:/i.test(endpoint) || endpoint.startsWith('//')) {
      try {
        // Against the base, so that a scheme-relative `//host/x` is judged by its host too.
        url = new URL(endpoint, base);
      } catch {
        throw new AppError('Proxy_InvalidRequest', 'endpoint is not a valid URL');
      }
    } else {
      const basePath = base.pathname.replace(/\/+$/, '');
      url = new URL(base.origin + basePath + (endpoint.startsWith('/') ? endpoint : `/${endpoint}`));
    }
    const allowed = url.protocol === base.protocol && (url.host === base.host || apiHosts.includes(url.host));
    if (!allowed || url.username || url.password) {
      throw new AppError('Proxy_HostRefused', "The endpoint is not on the provider's API host; credentials go only where the toolkit says they belong", {
        suggestedFix: `Use a path relative to ${base.origin}${base.pathname.replace(/\/+$/, '')}`,
      });
    }
    return url;
  }

  /** Puts the credential on the request; refuses caller values that would replace it. */
  function inject(url: URL, headers: Record<string, string>, auth: AuthParams) {
    const injected = new Set(auth.parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase()));
    for (const name of Object.keys(headers)) {
      if (injected.has(name.toLowerCase())) throw new AppError('Proxy_InvalidRequest', `Header ${name} carries the account's credential; Latchkey sets it`);
    }
    for (const p of auth.parameters) {
      if (p.in === 'header') headers[p.name.toLowerCase()] = p.value;
      else if (url.searchParams.has(p.name)) throw new AppError('Proxy_InvalidRequest', `Query parameter ${p.name} carries the account's credential; Latchkey sets it`);
    }
    for (const p of auth.parameters) if (p.in === 'query') url.searchParams.set(p.name, p.value);
  }

  /** The recorded path: query parameter names kept, their values never. */
  const recordedPath = (url: URL) => {
    const names = [...new Set(url.searchParams.keys())];
    return (url.pathname + (names.length ? `?${names.join('&')}` : '')).slice(0, 2000);
  };

  async function record(caller: Caller, row: AccountRow, method: string, url: URL, started: number, o: Outcome) {
    await deps.audit.recordRead({
      projectId: caller.projectId,
      action: 'proxy.call',
      objectId: row.id,
      outcome: o.error ? 'failure' : 'success',
      detail: { method, host: url.host, upstream_status: o.status, ...(o.error ? { error: o.error } : {}) },
    });
    await repo
      .recordCall({
        id: newOrderedId('proxyCall'),
        projectId: caller.projectId,
        apiKeyId: caller.keyId,
        accountId: row.id,
        method,
        host: url.host,
        path: recordedPath(url),
        upstreamStatus: o.status,
        error: o.error,
        bytesIn: o.bytesIn,
        bytesOut: o.bytesOut,
        durationMs: Date.now() - started,
      })
      .catch((err: unknown) => deps.log('a proxy call record could not be written', { err: (err as Error)?.message }));
  }

  /**
   * Sends with the credential; on a 401 from the provider for an OAuth2 account, refreshes (single
   * flight: concurrent 401s share one token request) and sends once more when `replayable`. A
   * minted token (client credentials, service accounts) is minted again the same way.
   */
  async function sendAuthorised(caller: Caller, t: Target, method: string, headers: Record<string, string>, body: Buffer | Readable | undefined, replayable: boolean) {
    const attempt = async (auth: AuthParams) => {
      const url = new URL(t.url);
      const h = { ...headers };
      inject(url, h, auth);
      if (t.row.authScheme === 'OAUTH1' && deps.signOAuth1) {
        // OAuth 1.0a signs the request itself: its method, final URL and (form) body.
        if (Object.keys(h).some((k) => k.toLowerCase() === 'authorization')) {
          throw new AppError('Proxy_InvalidRequest', "Header Authorization carries the account's credential; Latchkey sets it");
        }
        const isForm = /application\/x-www-form-urlencoded/i.test(h['content-type'] ?? '') && Buffer.isBuffer(body);
        const cfg = await deps.authConfigs.findOrThrow(caller.projectId, t.row.authConfigId);
        h.authorization = await deps.signOAuth1(cfg, accounts.openVal(t.row), { method, url: url.href, ...(isForm ? { form: new URLSearchParams(body.toString('utf8')) } : {}) });
      }
      return send(deps.egress, { url, method, headers: h, body, timeoutMs: s.timeoutMs });
    };
    const first = await attempt(t.auth);
    if (first.statusCode === 401 && t.row.authScheme === 'OAUTH1') {
      // OAuth 1.0a has no refresh: a token refused by the provider is dead until re-authorised.
      await deps.oauth.expireRejected(t.row).catch((err: unknown) => deps.log('an OAUTH1 account could not be marked EXPIRED', { err: (err as Error)?.message, account: t.row.id }));
      return first;
    }
    const renewable = isMintedScheme(t.row.authScheme) || (refreshable(t.row) && typeof accounts.openVal(t.row).refresh_token === 'string');
    if (first.statusCode !== 401 || !replayable || !renewable) return first;
    let refreshed: AccountRow;
    try {
      refreshed = await deps.oauth.refreshNow(t.row);
    } catch {
      // The refresh failed (and a dead grant left the account EXPIRED): the provider's 401 stands.
      return first;
    }
    first.resume();
    return attempt((await credentialsOf(caller, refreshed)).auth);
  }

  async function target(caller: Caller, accountId: string, endpoint: string): Promise<Target> {
    const row = await usableAccount(caller, accountId);
    const { auth, apiHosts } = await credentialsOf(caller, row);
    return { row, auth, url: resolveEndpoint(auth.base_url, endpoint, apiHosts) };
  }

  /** The request body of POST /tools/execute/proxy as bytes, with its content type. */
  async function requestBody(body: ProxyBody): Promise<{ bytes?: Buffer; type?: string }> {
    const b = body.binary_body;
    if (b && 'base64' in b) return { bytes: Buffer.from(b.base64, 'base64'), type: b.content_type ?? 'application/octet-stream' };
    if (b && 'url' in b) {
      const res = await deps.egress.fetch(b.url, { method: 'GET' }).catch((err: unknown) => {
        throw upstreamError(err);
      });
      if (!res.ok) throw new AppError('Proxy_InvalidRequest', `binary_body.url answered ${res.status}`);
      return { bytes: Buffer.from(await res.arrayBuffer()), type: b.content_type ?? res.headers.get('content-type') ?? 'application/octet-stream' };
    }
    if (body.body === undefined || body.body === null) return {};
    if (typeof body.body === 'string') return { bytes: Buffer.from(body.body, 'utf8'), type: 'text/plain; charset=utf-8' };
    return { bytes: Buffer.from(JSON.stringify(body.body), 'utf8'), type: 'application/json' };
  }

  return {
    /** Composio's POST /tools/execute/proxy: the provider's answer, buffered, as `{status, data, headers}`. */
    async execute(caller: Caller, body: ProxyBody) {
      const t = await target(caller, body.connected_account_id, body.endpoint);
      const started = Date.now();
      const outcome: Outcome = { status: null, error: null, bytesIn: 0, bytesOut: 0 };
      try {
        const headers: Record<string, string> = {};
        for (const p of body.parameters ?? []) {
          if (p.type === 'query') t.url.searchParams.append(p.name, p.value);
          else {
            const name = p.name.toLowerCase();
            if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name) || CALLER_FORBIDDEN.has(name) || hopByHop({}).has(name)) {
              throw new AppError('Proxy_InvalidRequest', `Header ${p.name} cannot be set through the proxy`);
            }
            headers[name] = p.value;
          }
        }
        const { bytes, type } = await requestBody(body);
        if (bytes && bytes.length > s.maxRequestBytes) throw new AppError('Proxy_RequestTooLarge', `The request body is larger than ${s.maxRequestBytes} bytes`);
        if (bytes) {
          headers['content-type'] ??= type!;
          headers['content-length'] = String(bytes.length);
          outcome.bytesOut = bytes.length;
        }
        // The body is decoded here (JSON, text), so it must arrive as sent.
        headers['accept-encoding'] = 'identity';
        const res = await sendAuthorised(caller, t, body.method, headers, bytes, true);
        outcome.status = res.statusCode ?? 0;
        const raw = await readBounded(res, s.maxResponseBytes, s.timeoutMs);
        outcome.bytesIn = raw.length;
        const out = { status: res.statusCode ?? 0, headers: responseHeaders(res), data: null as unknown };
        const described = describeBody(res.headers['content-type'], raw);
        if (described.kind !== 'binary') return { ...out, data: described.data };
        const id = newFileId();
        const expiresAt = new Date(Date.now() + s.fileTtlMs);
        await repo.saveFile({ id, projectId: caller.projectId, contentType: described.contentType, size: raw.length, sealedBytes: sealBody(caller.projectId, id, raw), expiresAt });
        return {
          ...out,
          binary_data: { url: `${s.publicUrl}/api/v3.1/files/${id}`, content_type: described.contentType, size: raw.length, expires_at: expiresAt.toISOString() },
        };
      } catch (err) {
        const e = upstreamError(err);
        outcome.error = e.slug;
        throw e;
      } finally {
        await record(caller, t.row, body.method, t.url, started, outcome);
      }
    },

    /**
     * The streaming pass-through: forwards method, query, allow-listed headers and the body as it
     * arrives; answers the provider's status, headers and body as they arrive (never buffered).
     */
    async stream(caller: Caller, accountId: string, path: string, req: IncomingMessage) {
      const incoming = new URL(req.url ?? '/', 'http://latchkey.invalid');
      const t = await target(caller, accountId, `/${path}`);
      for (const [k, v] of incoming.searchParams) t.url.searchParams.append(k, v);
      const drop = hopByHop(req.headers);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined || drop.has(k) || LATCHKEY_HEADERS.test(k)) continue;
        if (k === 'authorization' || k === 'proxy-authorization') throw new AppError('Proxy_InvalidRequest', `Header ${k} carries the account's credential; Latchkey sets it`);
        if (FORWARDED.has(k) || k.startsWith('x-')) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > s.maxRequestBytes) throw new AppError('Proxy_RequestTooLarge', `The request body is larger than ${s.maxRequestBytes} bytes`);
      const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
      const upload = byteLimit(s.maxRequestBytes, () => new AppError('Proxy_RequestTooLarge', `The request body is larger than ${s.maxRequestBytes} bytes`));
      const method = (req.method ?? 'GET').toUpperCase();
      const started = Date.now();
      const outcome: Outcome = { status: null, error: null, bytesIn: 0, bytesOut: 0 };
      let res: IncomingMessage;
      try {
        res = await sendAuthorised(caller, t, method, headers, hasBody ? req.pipe(upload.stream) : undefined, !hasBody);
      } catch (err) {
        const e = upstreamError(err);
        outcome.error = e.slug;
        outcome.bytesOut = upload.bytes();
        await record(caller, t.row, method, t.url, started, outcome);
        throw e;
      }
      const declaredOut = Number(res.headers['content-length']);
      if (Number.isFinite(declaredOut) && declaredOut > s.maxResponseBytes) {
        res.destroy();
        await record(caller, t.row, method, t.url, started, { ...outcome, status: res.statusCode ?? 0, error: 'Proxy_ResponseTooLarge', bytesOut: upload.bytes() });
        throw new AppError('Proxy_ResponseTooLarge', `The provider's response is larger than ${s.maxResponseBytes} bytes`);
      }
      const download = byteLimit(s.maxResponseBytes, () => new AppError('Proxy_ResponseTooLarge', 'The response grew past the size limit'));
      const body = res.pipe(download.stream);
      res.on('error', (err) => download.stream.destroy(err));
      // The caller went away (or the limit cut the body off): stop reading from the provider too.
      download.stream.on('close', () => {
        if (!res.complete) res.destroy();
      });
      let recorded = false;
      const finish = (error: string | null) => {
        if (recorded) return;
        recorded = true;
        void record(caller, t.row, method, t.url, started, { status: res.statusCode ?? 0, error, bytesIn: download.bytes(), bytesOut: upload.bytes() });
      };
      body.on('end', () => finish(null));
      body.on('error', (err) => finish(err instanceof AppError ? err.slug : 'Proxy_UpstreamUnreachable'));
      body.on('close', () => finish(res.complete ? null : 'Proxy_UpstreamUnreachable'));
      return { status: res.statusCode ?? 502, headers: responseHeaders(res), body };
    },

    /** A binary response's bytes, for its download URL: this project's, while it lives. */
    async file(caller: Caller, id: string) {
      const f = await repo.findFile(caller.projectId, id);
      const notFound = () => new AppError('Proxy_FileNotFound', 'File not found or expired');
      if (!f) throw notFound();
      // A file stored by a release before sealing and not sealed yet is served as it is.
      if (f.sealedBytes === null) return { contentType: f.contentType, bytes: Buffer.from(f.legacyBytes!) };
      try {
        return { contentType: f.contentType, bytes: Buffer.from(sealed.open('proxyFileBytes', f.projectId, f.id, f.sealedBytes), 'base64') };
      } catch (err) {
        if (!(err instanceof DecryptError)) throw err;
        // Sealed under a key no longer in the keyring: the file is gone for good, like an expired one.
        deps.log('a proxy file could not be opened with the keyring', { file: f.id });
        throw notFound();
      }
    },

    /**
     * Seals the bodies of files stored in plaintext by a release before sealing (the database never
     * sees the key, so the migration cannot). Run at start-up and by the maintenance job; a few rows
     * at a time, as bodies can be megabytes. Concurrent runs seal each file once. Returns how many.
     */
    async sealPlaintextFiles() {
      let n = 0;
      for (;;) {
        const rows = await repo.plaintextFiles(10);
        if (!rows.length) return n;
        for (const r of rows) if (await repo.sealPlaintextFile(r.id, sealBody(r.projectId, r.id, Buffer.from(r.legacyBytes!)))) n++;
      }
    },

    /** A connected account's recent proxied calls, newest first (keyset pages). */
    async calls(caller: Caller, accountId: string, q: { limit: number; cursor?: string }) {
      const row = await accounts.findOrThrow(caller.projectId, accountId);
      const cursor = q.cursor ? decodeCursor(q.cursor, CursorShape) : undefined;
      const rows = await repo.listCalls(caller.projectId, row.id, q.limit, cursor && { at: new Date(cursor.v), id: cursor.i });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((c) => ({
          id: c.id,
          connected_account_id: c.accountId,
          api_key_id: c.apiKeyId,
          method: c.method,
          host: c.host,
          path: c.path,
          upstream_status: c.upstreamStatus,
          error: c.error,
          bytes_in: Number(c.bytesIn),
          bytes_out: Number(c.bytesOut),
          duration_ms: c.durationMs,
          created_at: c.createdAt.toISOString(),
        })),
        next_cursor: rows.length > q.limit && last ? encodeCursor({ v: last.createdAt.toISOString(), i: last.id }) : null,
      };
    },

    /** For the maintenance job: expired files and call records past the retention. */
    prune: () => repo.prune(new Date(Date.now() - s.retentionDays * 86_400_000)),
  };
}
export type ProxyService = ReturnType<typeof proxyService>;
