/**
 * Projects (tenants) and their API keys. A key is random, shown once, and stored only as an HMAC
 * with the server secret; verification looks the HMAC up and compares it in constant time.
 * Verified keys are cached per process for API_KEY_CACHE_MS (keyed by a SHA-256 fingerprint of the
 * key, never the key) so the hot path makes no extra query and no HMAC;
 * a revocation is immediate in the revoking process and reaches other replicas within that time.
 */
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newApiKeySecret, newId } from '../../lib/ids.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuditEntry } from '../audit/audit.repository.js';
import type { ProjectsRepository } from './projects.repository.js';

/** Who is calling: the project, the key, and whether credential values must be masked for it. */
export type Caller = { projectId: string; keyId: string; maskCredentials: boolean };

const KEY_FORMAT = /^ak_[0-9A-Za-z]{20,80}$/;
/** last_used_at is written at most this often per key, so that reads stay reads. */
const TOUCH_INTERVAL_MS = 60_000;

export function projectsService(deps: {
  repo: ProjectsRepository;
  crypto: Pick<Crypto, 'hmac' | 'equal' | 'fingerprint'>;
  cacheMs: number;
  audit: Pick<AuditService, 'record'>;
  onError?: (err: unknown) => void;
}) {
  const { repo, crypto, cacheMs } = deps;
  /** The change's audit record, written in the change's own transaction. */
  const recording = (entry: AuditEntry) => (tx: Parameters<AuditService['record']>[0]) => deps.audit.record(tx, entry);
  const cache = new Map<string, { caller: Caller; until: number }>();
  const lastTouched = new Map<string, number>();

  function material(name: string) {
    const secret = newApiKeySecret();
    return { secret, key: { id: newId('apiKeyId'), name, prefix: secret.slice(0, 7), hash: crypto.hmac(secret) } };
  }

  function touch(keyId: string) {
    const now = Date.now();
    if ((lastTouched.get(keyId) ?? 0) > now - TOUCH_INTERVAL_MS) return;
    lastTouched.set(keyId, now);
    repo.touchKey(keyId, new Date(now)).catch((err: unknown) => deps.onError?.(err));
  }

  return {
    async createProject(name: string) {
      const { secret, key } = material('default');
      const id = newId('project');
      const project = await repo.createProjectWithKey({ id, name }, key, recording({ projectId: id, action: 'project.create', objectId: id, detail: { api_key_id: key.id } }));
      return { project, apiKey: secret, keyId: key.id };
    },

    /** A new key; `masked` keys see credential values masked whatever the project setting. */
    async createKey(projectId: string, name: string, opts: { masked?: boolean } = {}) {
      if (!(await repo.findProject(projectId))) throw new AppError('Route_NotFound', `Project ${projectId} not found`);
      const { secret, key } = material(name);
      const masked = opts.masked ?? false;
      await repo.createKey(projectId, { ...key, maskCredentials: masked }, recording({ projectId, action: 'api_key.create', objectId: key.id, detail: { masked } }));
      return { id: key.id, name, prefix: key.prefix, apiKey: secret };
    },

    /** How long this project's Connect Links stay usable (60 s to 7 days). */
    async setLinkTtl(projectId: string, seconds: number) {
      if (!Number.isInteger(seconds) || seconds < 60 || seconds > 7 * 86_400) throw new AppError('Request_ValidationError', 'The link lifetime is 60 to 604800 seconds');
      await repo.updateProject(projectId, { linkTtlSeconds: seconds }, recording({ projectId, action: 'project.update_settings', objectId: projectId, detail: { link_ttl_seconds: seconds } }));
    },

    /** Branding of the hosted Connect Link page; an empty value clears it. */
    async setBranding(projectId: string, b: { name?: string; logoUrl?: string; accent?: string }) {
      if (b.name !== undefined && b.name.length > 120) throw new AppError('Request_ValidationError', 'The display name is at most 120 characters');
      if (b.logoUrl && !/^https:\/\/[^\s"'<>]{1,1990}$/.test(b.logoUrl)) throw new AppError('Request_ValidationError', 'The logo must be an https URL');
      if (b.accent && !/^#[0-9a-fA-F]{6}$/.test(b.accent)) throw new AppError('Request_ValidationError', 'The accent colour looks like #3558e6');
      const data = {
        ...(b.name !== undefined ? { brandName: b.name || null } : {}),
        ...(b.logoUrl !== undefined ? { brandLogoUrl: b.logoUrl || null } : {}),
        ...(b.accent !== undefined ? { brandAccent: b.accent || null } : {}),
      };
      await repo.updateProject(projectId, data, recording({ projectId, action: 'project.update_settings', objectId: projectId, detail: { branding: data } }));
    },

    /**
     * Verified callbacks: the app's page that receives `session_uri` after an OAuth consent and
     * confirms the user with POST /connected_accounts/complete_auth; empty turns it off.
     */
    async setCallbackVerifier(projectId: string, url: string) {
      if (url && !/^https?:\/\/[^\s"'<>]{1,1990}$/.test(url)) throw new AppError('Request_ValidationError', 'The verifier must be an http(s) URL');
      if (url && new URL(url).protocol !== 'https:' && !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//.test(url)) {
        throw new AppError('Request_ValidationError', 'The verifier must be https (plain http only on localhost)');
      }
      if (!(await repo.findProject(projectId))) throw new AppError('Route_NotFound', `Project ${projectId} not found`);
      await repo.updateProject(projectId, { callbackVerifierUrl: url || null }, recording({ projectId, action: 'project.update_settings', objectId: projectId, detail: { callback_verifier: url ? 'set' : 'cleared' } }));
    },

    callbackVerifierUrl: (projectId: string) => repo.callbackVerifierUrl(projectId),

    /** Project setting: mask credential values in every response (takes effect within API_KEY_CACHE_MS). */
    async setMasking(projectId: string, masked: boolean) {
      await repo.setProjectMasking(projectId, masked, recording({ projectId, action: 'project.set_masking', objectId: projectId, detail: { mask_credentials: masked } }));
      for (const [h, v] of cache) if (v.caller.projectId === projectId) cache.delete(h);
    },

    listKeys: (projectId: string) => repo.listKeys(projectId),
    listProjects: () => repo.listProjects(),
    findProject: (id: string) => repo.findProject(id),
    findProjectByName: (name: string) => repo.findProjectByName(name),
    countProjects: () => repo.countProjects(),

    async revokeKey(projectId: string, keyId: string) {
      const ok = await repo.revokeKey(projectId, keyId, recording({ projectId, action: 'api_key.revoke', objectId: keyId }));
      if (!ok) throw new AppError('Route_NotFound', `API key ${keyId} not found or already revoked`);
      for (const [h, v] of cache) if (v.caller.keyId === keyId) cache.delete(h);
    },

    /** Resolves an `x-api-key` value to its project, or throws a 401 AppError. */
    async authenticate(presented: string): Promise<Caller> {
      if (presented.startsWith('uak_')) {
        throw new AppError('Auth_InvalidApiKey', 'User API keys (uak_) are not accepted in x-api-key; use a project API key (ak_)');
      }
      if (!KEY_FORMAT.test(presented)) throw new AppError('Auth_InvalidApiKey', 'Invalid API key');
      const cacheKey = crypto.fingerprint(presented);
      const hit = cache.get(cacheKey);
      const now = Date.now();
      if (hit && hit.until > now) {
        touch(hit.caller.keyId);
        return hit.caller;
      }
      const hash = crypto.hmac(presented);
      const row = await repo.findKeyByHash(hash);
      if (!row || !crypto.equal(Buffer.from(row.hash), hash) || row.revokedAt) {
        cache.delete(cacheKey);
        throw new AppError('Auth_InvalidApiKey', 'Invalid API key');
      }
      const caller = { projectId: row.projectId, keyId: row.id, maskCredentials: row.maskCredentials || row.project.maskCredentials };
      if (cacheMs > 0) cache.set(cacheKey, { caller, until: now + cacheMs });
      touch(row.id);
      return caller;
    },
  };
}
export type ProjectsService = ReturnType<typeof projectsService>;
