/**
 * SERVICE_ACCOUNT, GitHub App style: `application_id`, `installation_id` and the app's
 * `private_key`. An app JWT (RS256; iss = the app id, iat backdated 60 s against clock drift,
 * exp 10 minutes after iat at most, as GitHub requires) buys an installation access token at
 * `POST {api}/app/installations/{installation_id}/access_tokens`. Installation tokens last an hour
 * and cannot be refreshed: a token near expiry is replaced by asking again.
 */
import type { KeyObject } from 'node:crypto';
import { type HttpOptions, ProviderError, readFields, refusal, send } from './http.js';
import { rsaPrivateKey, signRs256 } from './jwt.js';

export const GITHUB_API = 'https://api.github.com';
/** GitHub refuses app JWTs that expire more than 10 minutes ahead. */
const APP_JWT_SECONDS = 600;
const CLOCK_DRIFT_SECONDS = 60;

export type GitHubApp = { applicationId: string; installationId: string; privateKey: KeyObject };

/** The account's fields, checked (the key is never echoed in an error). */
export function parseGitHubApp(val: { application_id?: unknown; installation_id?: unknown; private_key?: unknown }): { ok: true; app: GitHubApp } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const id = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : '');
  const applicationId = id(val.application_id);
  const installationId = id(val.installation_id);
  // The numeric app id, or the app's client id (Iv1.…, Iv23…), which GitHub also accepts as iss.
  if (!/^(\d{1,20}|Iv[\w.]{1,60})$/.test(applicationId)) errors.push('application_id: a GitHub App id (digits) or client id');
  if (!/^\d{1,20}$/.test(installationId)) errors.push('installation_id: digits');
  const privateKey = typeof val.private_key === 'string' ? rsaPrivateKey(val.private_key.replace(/\\n/g, '\n')) : undefined;
  if (!privateKey) errors.push('private_key: the App private key (RSA, PEM)');
  if (errors.length || !privateKey) return { ok: false, errors };
  return { ok: true, app: { applicationId, installationId, privateKey } };
}

export function appJwt(app: Pick<GitHubApp, 'applicationId' | 'privateKey'>, now: Date = new Date()): string {
  const iat = Math.floor(now.getTime() / 1000) - CLOCK_DRIFT_SECONDS;
  return signRs256({ iss: app.applicationId, iat, exp: iat + APP_JWT_SECONDS }, app.privateKey);
}

export type InstallationToken = {
  token: string;
  expires_at: string;
  permissions?: Record<string, string>;
  repository_selection?: string;
};

/** Narrowing what the token may do (GitHub's optional body). */
export type InstallationTokenScope = { repositories?: string[]; repository_ids?: number[]; permissions?: Record<string, string> };

export async function installationToken(
  http: HttpOptions,
  app: GitHubApp,
  opts: { apiBaseUrl?: string; scope?: InstallationTokenScope; now?: () => Date } = {},
): Promise<InstallationToken> {
  const base = (opts.apiBaseUrl ?? GITHUB_API).replace(/\/+$/, '');
  const url = `${base}/app/installations/${encodeURIComponent(app.installationId)}/access_tokens`;
  const res = await send(http, url, {
    method: 'POST',
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${appJwt(app, (opts.now ?? (() => new Date()))())}`,
      'x-github-api-version': '2022-11-28',
      'content-type': 'application/json',
      'user-agent': 'latchkey',
    },
    body: JSON.stringify(opts.scope ?? {}),
  });
  const fields = await readFields(res);
  if (!res.ok) {
    // GitHub says `message`, not `error`: 401 bad JWT, 403/404 no such installation for this app.
    const message = typeof fields?.message === 'string' ? fields.message.slice(0, 200) : undefined;
    const err = refusal(res.status, fields);
    throw new ProviderError(err.kind, res.status === 401 ? 'invalid_client' : res.status === 404 ? 'installation_not_found' : err.error, message, res.status);
  }
  const expiresAt = typeof fields?.expires_at === 'string' ? new Date(fields.expires_at) : undefined;
  if (typeof fields?.token !== 'string' || !fields.token || !expiresAt || Number.isNaN(expiresAt.getTime())) {
    throw new ProviderError('permanent', 'invalid_token_response', 'GitHub answered without a token and expires_at');
  }
  return {
    token: fields.token,
    expires_at: expiresAt.toISOString(),
    ...(fields.permissions && typeof fields.permissions === 'object' ? { permissions: fields.permissions as Record<string, string> } : {}),
    ...(typeof fields.repository_selection === 'string' ? { repository_selection: fields.repository_selection } : {}),
  };
}
