/**
 * Auth configs: a project's configuration of a toolkit. Credentials (client secrets, shared API keys)
 * are sealed as one value bound to the project and the config id; responses show secret values
 * masked. Deleting is soft and takes the config's connections with it.
 */
import { DbNull, type Prisma } from '../../db/prisma.js';
import type { ManagedCredentials } from '../../lib/config.js';
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { decodeCursor, encodeCursor, pageInfo } from '../../lib/pagination.js';
import { z } from 'zod';
import { MASK, secretKeys } from '../toolkits/fields.js';
import { type AuthScheme, type AuthSchemeDefinition, logoOf } from '../toolkits/toolkit-definition.js';
import type { ResolvedToolkit, ToolkitsService } from '../toolkits/toolkits.service.js';
import type { AuthConfigRow, AuthConfigsRepository } from './auth-configs.repository.js';
import type { AuthConfigObject, CreateAuthConfigBody, ListAuthConfigsQuery, UpdateAuthConfigBody } from './auth-configs.schemas.js';
import { associatedData } from '../../lib/sealed.js';
import type { AuditEntry } from '../audit/audit.repository.js';
import type { AuditService } from '../audit/audit.service.js';


type CredentialMap = Record<string, unknown>;
const CursorShape = z.object({ c: z.iso.datetime(), i: z.string().max(64) });

/** Schemes that need nothing from the operator: they can always be "managed". */
function needsNoAppCredentials(s: AuthSchemeDefinition) {
  return s.mode !== 'OAUTH2' && s.mode !== 'OAUTH1' && s.mode !== 'DCR_OAUTH' && !s.fields.auth_config_creation.some((f) => f.required);
}

/**
 * The schemes a managed auth config of this toolkit may use. A toolkit that offers OAuth2 is managed
 * through OAuth2 only, with the operator's app credentials: quietly falling back to its API-key
 * scheme would make a "managed" config that no end user can connect without typing a key (this is
 * what `toolkits.authorize()` creates), so without the credentials the toolkit has no managed scheme.
 */
export function managedSchemesOf(def: { slug: string; auth_schemes: AuthSchemeDefinition[] }, managed: Map<string, ManagedCredentials>): AuthScheme[] {
  const oauth2 = def.auth_schemes.find((s) => s.mode === 'OAUTH2');
  if (oauth2) return managed.has(def.slug) && oauth2.availability === 'available' ? ['OAUTH2'] : [];
  return def.auth_schemes.filter((s) => s.availability === 'available' && needsNoAppCredentials(s)).map((s) => s.mode);
}

/** A listed scheme Latchkey cannot connect: refused plainly before anything is written. */
function schemeNotAvailable(slug: string, s: AuthSchemeDefinition, all: AuthSchemeDefinition[]) {
  const why = s.availability === 'unsupported' ? 'Latchkey does not support it yet' : "its details have not been verified against the provider's documentation";
  const usable = all.filter((x) => x.availability === 'available').map((x) => x.mode);
  return new AppError('AuthConfig_SchemeNotAvailable', `Toolkit ${slug} lists ${s.mode}, but it is ${s.availability}: ${why}${s.note ? ` (${s.note})` : ''}`.slice(0, 1000), {
    suggestedFix: usable.length
      ? `Use one of: ${usable.join(', ')}`
      : 'Register a custom toolkit (POST /api/v3.1/custom_toolkits) with the provider\'s endpoints, or propose a verified catalogue entry',
  });
}

/** How an operator gives Latchkey app credentials for a toolkit's managed auth. */
export function managedCredentialsHint(slug: string) {
  const v = `LATCHKEY_MANAGED_${slug.toUpperCase()}`;
  return `set ${v}_CLIENT_ID and ${v}_CLIENT_SECRET on the server`;
}

export function authConfigsService(deps: {
  repo: AuthConfigsRepository;
  toolkits: Pick<ToolkitsService, 'resolve'>;
  crypto: Pick<Crypto, 'seal' | 'open'>;
  managedAuth: Map<string, ManagedCredentials>;
  /** Soft-deletes a config's connections inside the config's delete transaction (their store's write). */
  deleteConnections: (tx: Prisma.TransactionClient, projectId: string, authConfigId: string, at: Date) => Promise<unknown>;
  audit: Pick<AuditService, 'record'>;
}) {
  const { repo, toolkits, crypto, managedAuth } = deps;
  /** The change's audit record, written in the change's own transaction (names of fields, never values). */
  const recording = (entry: AuditEntry) => (tx: Prisma.TransactionClient) => deps.audit.record(tx, entry);
  const aad = (projectId: string, id: string) => associatedData('authConfigCredentials', projectId, id);

  const secretKeysFor = (scheme: AuthSchemeDefinition | undefined, creds: CredentialMap) => secretKeys(scheme?.fields.auth_config_creation ?? [], creds);

  function openCredentials(row: AuthConfigRow): CredentialMap {
    return row.credentials ? (JSON.parse(crypto.open(row.credentials, aad(row.projectId, row.id))) as CredentialMap) : {};
  }

  function toObject(row: AuthConfigRow, toolkit: ResolvedToolkit | undefined, connections: number): AuthConfigObject {
    const creds = openCredentials(row);
    const masked = Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, row.secretKeys.includes(k) ? MASK : v]));
    const tac = (row.toolAccessConfig ?? {}) as Record<string, string[] | undefined>;
    const proxy = row.proxyConfig as AuthConfigObject['proxy_config'];
    return {
      id: row.id,
      uuid: row.id,
      type: row.isComposioManaged ? 'default' : 'custom',
      toolkit: { slug: row.toolkitSlug, logo: toolkit ? logoOf(toolkit.definition) : '', auth_guide_url: toolkit?.definition.docs_url ?? null },
      name: row.name,
      auth_scheme: row.authScheme as AuthScheme,
      is_composio_managed: row.isComposioManaged,
      credentials: masked,
      ...(proxy ? { proxy_config: proxy } : {}),
      status: row.status as 'ENABLED' | 'DISABLED',
      created_at: row.createdAt.toISOString(),
      last_updated_at: row.updatedAt.toISOString(),
      no_of_connections: connections,
      expected_input_fields: [],
      tool_access_config: {
        tools_for_connected_account_creation: tac.tools_for_connected_account_creation ?? [],
        tools_available_for_execution: tac.tools_available_for_execution ?? [],
      },
      is_enabled_for_tool_router: row.isEnabledForToolRouter,
    };
  }

  async function toolkitOrUndefined(projectId: string, slug: string) {
    return toolkits.resolve(projectId, slug).catch(() => undefined);
  }

  async function findOrThrow(projectId: string, id: string) {
    const row = await repo.find(projectId, id);
    if (!row) throw new AppError('AuthConfig_ResourceNotFound', `Auth config ${id} not found`);
    return row;
  }

  /**
   * What never changes about a config (its toolkit and scheme), cached per process. Whether it is
   * still enabled is checked by the write that uses it (see connected-accounts.repository create).
   */
  const fixed = new Map<string, { toolkitSlug: string; authScheme: string }>();
  async function fixedPartsOf(projectId: string, id: string) {
    const key = `${projectId}/${id}`;
    const hit = fixed.get(key);
    if (hit) return hit;
    const row = await usableOrThrow(projectId, id);
    if (fixed.size > 10_000) fixed.clear();
    const parts = { toolkitSlug: row.toolkitSlug, authScheme: row.authScheme };
    fixed.set(key, parts);
    return parts;
  }

  /** The config, if it exists and may take new connections; otherwise the matching 404 or 400. */
  async function usableOrThrow(projectId: string, id: string) {
    const row = await repo.find(projectId, id);
    if (!row) {
      fixed.delete(`${projectId}/${id}`);
      throw new AppError('AuthConfig_ResourceNotFound', `Auth config ${id} not found`);
    }
    if (row.status === 'DISABLED') {
      throw new AppError('AuthConfig_Disabled', `Auth config ${id} is disabled and cannot create new connections`, {
        suggestedFix: `Enable it with PATCH /api/v3.1/auth_configs/${id}/ENABLED`,
      });
    }
    return row;
  }

  return {
    findOrThrow,
    openCredentials,
    fixedPartsOf,
    usableOrThrow,

    async create(projectId: string, body: CreateAuthConfigBody) {
      const toolkit = await toolkits.resolve(projectId, body.toolkit.slug);
      const def = toolkit.definition;
      const ac = body.auth_config ?? { type: 'use_composio_managed_auth' as const };
      let scheme: AuthSchemeDefinition | undefined;
      let creds: CredentialMap = { ...(ac.credentials ?? {}) };
      if (ac.type === 'use_composio_managed_auth') {
        const managed = managedSchemesOf(def, managedAuth);
        scheme = def.auth_schemes.find((s) => managed.includes(s.mode));
        const unavailable = def.auth_schemes.length && def.auth_schemes.every((s) => s.availability !== 'available') ? def.auth_schemes[0] : undefined;
        if (!scheme && unavailable) throw schemeNotAvailable(def.slug, unavailable, def.auth_schemes);
        if (!scheme) {
          // Refused before anything is written: no half-made config is left behind.
          throw new AppError('AuthConfig_InvalidRequest', `Latchkey has no managed credentials for ${def.slug}: ${managedCredentialsHint(def.slug)}, or create a custom auth config with your own app credentials`, {
            suggestedFix: `Create a custom auth config (type use_custom_auth) with your own app credentials, or have the operator ${managedCredentialsHint(def.slug)}`,
          });
        }
        // Only scope choices are kept; the app credentials stay in the server's configuration.
        creds = Object.fromEntries(Object.entries(creds).filter(([k]) => k === 'scopes' || k === 'user_scopes'));
      } else {
        scheme = def.auth_schemes.find((s) => s.mode === ac.authScheme);
        if (!scheme && def.auth_schemes.length) {
          throw new AppError('AuthConfig_InvalidRequest', `Toolkit ${def.slug} does not support ${ac.authScheme}`, {
            suggestedFix: `Use one of: ${def.auth_schemes.map((s) => s.mode).join(', ')}`,
          });
        }
        if (scheme && scheme.availability !== 'available') throw schemeNotAvailable(def.slug, scheme, def.auth_schemes);
        const missing = (scheme?.fields.auth_config_creation ?? []).filter((f) => f.required && (creds[f.name] === undefined || creds[f.name] === ''));
        if (missing.length) {
          throw new AppError('AuthConfig_InvalidRequest', `Missing required credentials: ${missing.map((f) => f.name).join(', ')}`, {
            errors: missing.map((f) => `auth_config.credentials.${f.name}: required`),
          });
        }
      }
      const id = newId('authConfig');
      const mode = scheme?.mode ?? (ac.type === 'use_custom_auth' ? ac.authScheme : 'NO_AUTH');
      await repo.create({
        id,
        projectId,
        toolkitSlug: def.slug,
        name: ac.name ?? `${def.name} Auth Config`,
        authScheme: mode,
        isComposioManaged: ac.type === 'use_composio_managed_auth',
        credentials: Object.keys(creds).length ? crypto.seal(JSON.stringify(creds), aad(projectId, id)) : null,
        secretKeys: secretKeysFor(scheme, creds),
        proxyConfig: ac.type === 'use_custom_auth' && ac.proxy_config ? ac.proxy_config : undefined,
        toolAccessConfig: ac.tool_access_config ?? {},
        isEnabledForToolRouter: ac.is_enabled_for_tool_router ?? false,
      }, recording({ projectId, action: 'auth_config.create', objectId: id, detail: { toolkit: def.slug, auth_scheme: mode, managed: ac.type === 'use_composio_managed_auth' } }));
      return {
        toolkit: { slug: def.slug },
        auth_config: {
          id,
          auth_scheme: mode,
          is_composio_managed: ac.type === 'use_composio_managed_auth',
          ...(ac.restrict_to_following_tools ? { restrict_to_following_tools: ac.restrict_to_following_tools } : {}),
        },
      };
    },

    async get(projectId: string, id: string) {
      const row = await findOrThrow(projectId, id);
      const counts = await repo.connectionCounts(projectId, [id]);
      return toObject(row, await toolkitOrUndefined(projectId, row.toolkitSlug), counts.get(id) ?? 0);
    },

    async list(projectId: string, q: ListAuthConfigsQuery) {
      const after = q.cursor ? decodeCursor(q.cursor, CursorShape) : undefined;
      const { rows, total, before } = await repo.list(
        projectId,
        { toolkitSlugs: q.toolkit_slug, managed: q.is_composio_managed, showDisabled: q.show_disabled ?? false, search: q.search?.trim() || undefined },
        { after: after && { createdAt: new Date(after.c), id: after.i }, limit: q.limit },
      );
      const page = rows.slice(0, q.limit);
      const counts = await repo.connectionCounts(projectId, page.map((r) => r.id));
      const kits = new Map<string, ResolvedToolkit | undefined>();
      for (const slug of new Set(page.map((r) => r.toolkitSlug))) kits.set(slug, await toolkitOrUndefined(projectId, slug));
      const last = page[page.length - 1];
      return {
        items: page.map((r) => toObject(r, kits.get(r.toolkitSlug), counts.get(r.id) ?? 0)),
        next_cursor: rows.length > q.limit && last ? encodeCursor({ c: last.createdAt.toISOString(), i: last.id }) : null,
        ...pageInfo(total, q.limit, before),
      };
    },

    /** True patch: omitted fields are kept; null (or [] / "") clears. Credentials merge key by key. */
    async update(projectId: string, id: string, body: UpdateAuthConfigBody) {
      const row = await findOrThrow(projectId, id);
      if ((body.type === 'default') !== row.isComposioManaged) {
        throw new AppError('AuthConfig_InvalidRequest', `Auth config ${id} is ${row.isComposioManaged ? 'managed: use type "default"' : 'custom: use type "custom"'}`);
      }
      let creds = openCredentials(row);
      if (body.type === 'custom' && body.credentials !== undefined) {
        creds = body.credentials === null ? {} : { ...creds, ...body.credentials };
        for (const [k, v] of Object.entries(creds)) if (v === '' || v === null) delete creds[k];
      }
      if (body.type === 'default') {
        for (const k of ['scopes', 'user_scopes'] as const) {
          const v = body[k];
          if (v === null || (Array.isArray(v) && !v.length) || v === '') delete creds[k];
          else if (v !== undefined) creds[k] = v;
        }
      }
      const toolkit = await toolkitOrUndefined(projectId, row.toolkitSlug);
      const scheme = toolkit?.definition.auth_schemes.find((s) => s.mode === row.authScheme);
      const tac = { ...((row.toolAccessConfig ?? {}) as object), ...(body.tool_access_config ?? {}) };
      if (body.restrict_to_following_tools !== undefined) Object.assign(tac, { tools_available_for_execution: body.restrict_to_following_tools });
      await repo.update(projectId, id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        credentials: Object.keys(creds).length ? crypto.seal(JSON.stringify(creds), aad(projectId, id)) : null,
        secretKeys: secretKeysFor(scheme, creds),
        toolAccessConfig: tac,
        ...(body.is_enabled_for_tool_router !== undefined ? { isEnabledForToolRouter: body.is_enabled_for_tool_router } : {}),
        ...(body.type === 'custom' && body.proxy_config !== undefined ? { proxyConfig: body.proxy_config ?? DbNull } : {}),
      }, recording({ projectId, action: 'auth_config.update', objectId: id, detail: { fields: Object.keys(body).filter((k) => k !== 'type') } }));
      return {};
    },

    async setStatus(projectId: string, id: string, status: 'ENABLED' | 'DISABLED') {
      const action = status === 'ENABLED' ? 'auth_config.enable' : 'auth_config.disable';
      if (!(await repo.update(projectId, id, { status }, recording({ projectId, action, objectId: id })))) throw new AppError('AuthConfig_ResourceNotFound', `Auth config ${id} not found`);
      return {};
    },

    async remove(projectId: string, id: string) {
      const record = recording({ projectId, action: 'auth_config.delete', objectId: id });
      if (!(await repo.softDelete(projectId, id, (tx, at) => deps.deleteConnections(tx, projectId, id, at), record))) throw new AppError('AuthConfig_ResourceNotFound', `Auth config ${id} not found`);
      return { success: true };
    },
  };
}
export type AuthConfigsService = ReturnType<typeof authConfigsService>;
