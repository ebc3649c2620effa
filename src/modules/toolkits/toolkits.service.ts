/**
 * The toolkit catalogue as a project sees it: the built-in toolkits plus the project's own.
 * Slugs are case-insensitive (lower-cased on the way in). A custom toolkit can never shadow a built-in.
 */
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { decodeCursor, encodeCursor, pageInfo } from '../../lib/pagination.js';
import type { Tx } from '../../db/transaction.js';
import type { AuditEntry } from '../audit/audit.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ToolkitsRepository } from './toolkits.repository.js';
import type { ListToolkitsQuery, ToolkitDetail } from './toolkits.schemas.js';
import type { AuthScheme, ToolkitDefinition, ToolkitField } from './toolkit-definition.js';
import { ToolkitDefinitionSchema, serverCalledUrls } from './toolkit-definition.js';

export type ResolvedToolkit = {
  definition: ToolkitDefinition;
  type: 'native' | 'custom';
  createdAt: Date;
  updatedAt: Date;
};

/** Which schemes of a toolkit the operator has app credentials for (see the auth-configs module). */
export type ManagedSchemes = (slug: string) => AuthScheme[];

const CursorShape = z.object({ after: z.string().max(63) });

/** Built-in entries carry the date of the catalogue they shipped in. */
const CATALOGUE_DATE = new Date('2026-11-22T00:00:00.000Z');

function splitFields(fields: ToolkitField[]) {
  const out = (f: ToolkitField) => ({
    name: f.name,
    displayName: f.displayName,
    type: f.type,
    description: f.description,
    required: f.required,
    ...(f.default !== undefined ? { default: f.default } : {}),
    is_secret: f.is_secret,
  });
  return { required: fields.filter((f) => f.required).map(out), optional: fields.filter((f) => !f.required).map(out) };
}

export function toolkitsService(deps: {
  catalogue: Map<string, ToolkitDefinition>;
  repo: ToolkitsRepository;
  managedSchemes: ManagedSchemes;
  /** The egress guard's save-time check for the URLs Latchkey will call on a project's behalf. */
  urlProblem: (url: string) => string | undefined;
  audit: Pick<AuditService, 'record'>;
}) {
  const { catalogue, repo, managedSchemes } = deps;
  /** The change's audit record, written in the change's own transaction. */
  const recording = (entry: AuditEntry) => (tx: Tx) => deps.audit.record(tx, entry);

  async function all(projectId: string): Promise<ResolvedToolkit[]> {
    const custom = await repo.listCustom(projectId);
    const builtIn = [...catalogue.values()].map((definition) => ({
      definition,
      type: 'native' as const,
      createdAt: CATALOGUE_DATE,
      updatedAt: CATALOGUE_DATE,
    }));
    const own = custom.map((row) => ({
      definition: row.definition as ToolkitDefinition,
      type: 'custom' as const,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    }));
    return [...builtIn, ...own].sort((a, b) => (a.definition.slug < b.definition.slug ? -1 : 1));
  }

  function detail(t: ResolvedToolkit): ToolkitDetail {
    const d = t.definition;
    const managed = managedSchemes(d.slug);
    return {
      slug: d.slug,
      name: d.name,
      type: t.type,
      enabled: true,
      is_local_toolkit: false,
      composio_managed_auth_schemes: managed,
      composio_managed_auth: d.auth_schemes
        .filter((s) => managed.includes(s.mode))
        .map((s) => ({ mode: s.mode, scopes: { available: s.oauth2?.default_scopes ?? [] } })),
      auth_config_details: d.auth_schemes.map((s) => ({
        mode: s.mode,
        name: s.name,
        fields: {
          auth_config_creation: splitFields(s.fields.auth_config_creation),
          connected_account_initiation: splitFields(s.fields.connected_account_initiation),
        },
        proxy: { base_url: s.base_url ?? d.base_url },
        ...(s.auth_hint_url ? { auth_hint_url: s.auth_hint_url } : {}),
      })),
      auth_guide_url: d.docs_url,
      base_url: d.base_url,
      meta: {
        created_at: t.createdAt.toISOString(),
        updated_at: t.updatedAt.toISOString(),
        description: d.description,
        logo: d.logo,
        app_url: d.app_url,
        categories: d.categories,
        triggers_count: 0,
        tools_count: 0,
        version: 'latest',
        available_versions: ['latest'],
      },
      deprecated: { toolkitId: d.slug, rawProxyInfoByAuthSchemes: [] },
    };
  }

  function listItem(t: ResolvedToolkit) {
    const d = t.definition;
    const full = detail(t);
    return {
      slug: d.slug,
      name: d.name,
      type: t.type,
      auth_schemes: d.auth_schemes.map((s) => s.mode),
      composio_managed_auth_schemes: full.composio_managed_auth_schemes,
      is_local_toolkit: false,
      no_auth: d.auth_schemes.length === 0 || d.auth_schemes.every((s) => s.mode === 'NO_AUTH'),
      auth_guide_url: d.docs_url,
      deprecated: { toolkitId: d.slug },
      meta: {
        created_at: full.meta.created_at,
        updated_at: full.meta.updated_at,
        description: d.description,
        logo: d.logo,
        app_url: d.app_url,
        categories: d.categories.map((c) => ({ id: c.slug, name: c.name })),
        triggers_count: 0,
        tools_count: 0,
        version: 'latest',
      },
    };
  }

  async function resolve(projectId: string, slug: string): Promise<ResolvedToolkit> {
    const s = slug.toLowerCase();
    const builtIn = catalogue.get(s);
    if (builtIn) return { definition: builtIn, type: 'native', createdAt: CATALOGUE_DATE, updatedAt: CATALOGUE_DATE };
    const row = await repo.findCustom(projectId, s);
    if (!row) throw new AppError('Toolkit_ResourceNotFound', `Toolkit ${s} not found`);
    return { definition: row.definition as ToolkitDefinition, type: 'custom', createdAt: row.createdAt, updatedAt: row.updatedAt };
  }

  function checkDefinition(body: unknown): ToolkitDefinition {
    const parsed = ToolkitDefinitionSchema.safeParse(body);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 50);
      throw new AppError('Toolkit_InvalidDefinition', `Invalid toolkit definition: ${errors.join('; ')}`.slice(0, 1000), { errors });
    }
    // Only a project's own toolkits come through here; the built-in catalogue is trusted.
    const refused = serverCalledUrls(parsed.data).flatMap(({ path, url }) => {
      const problem = deps.urlProblem(url);
      return problem ? [`${path} ${problem}`] : [];
    });
    if (refused.length) {
      throw new AppError('Toolkit_InvalidDefinition', `Invalid toolkit definition: ${refused.join('; ')}`.slice(0, 1000), {
        errors: refused,
        suggestedFix: "Use the provider's public endpoints",
      });
    }
    return parsed.data;
  }

  return {
    resolve,
    detail,

    async list(projectId: string, q: ListToolkitsQuery) {
      const search = q.search?.toLowerCase();
      const category = q.category?.toLowerCase();
      const matching = (await all(projectId)).filter((t) => {
        const d = t.definition;
        if (q.type !== 'all' && t.type !== q.type) return false;
        if (q.managed_by === 'composio' && managedSchemes(d.slug).length === 0) return false;
        if (q.managed_by === 'project' && t.type !== 'custom') return false;
        if (category && !d.categories.some((c) => c.slug === category || c.name.toLowerCase() === category)) return false;
        if (search && ![d.slug, d.name, d.description].some((s) => s.toLowerCase().includes(search))) return false;
        return true;
      });
      // Keyset on the slug; "usage" ordering falls back to alphabetical.
      const after = q.cursor ? decodeCursor(q.cursor, CursorShape).after : undefined;
      const start = after === undefined ? 0 : matching.findIndex((t) => t.definition.slug > after);
      const from = start < 0 ? matching.length : start;
      const page = matching.slice(from, from + q.limit);
      const hasMore = from + q.limit < matching.length;
      return {
        items: page.map(listItem),
        next_cursor: hasMore ? encodeCursor({ after: page[page.length - 1]!.definition.slug }) : null,
        ...pageInfo(matching.length, q.limit, from),
      };
    },

    async get(projectId: string, slug: string) {
      return detail(await resolve(projectId, slug));
    },

    async createCustom(projectId: string, body: unknown) {
      const def = checkDefinition(body);
      if (catalogue.has(def.slug)) {
        throw AppError.final('Toolkit_AlreadyExists', `Toolkit ${def.slug} is built in; choose another slug`);
      }
      if (await repo.findCustom(projectId, def.slug)) {
        throw AppError.final('Toolkit_AlreadyExists', `Toolkit ${def.slug} already exists in this project`);
      }
      await repo.createCustom(projectId, newId('customToolkit'), def, recording({ projectId, action: 'toolkit.create', objectId: def.slug }));
      return { slug: def.slug, type: 'custom' as const };
    },

    async replaceCustom(projectId: string, slug: string, body: unknown) {
      const def = checkDefinition(body);
      if (def.slug !== slug) throw new AppError('Toolkit_InvalidDefinition', 'The slug in the body must match the path');
      if (!(await repo.replaceCustom(projectId, slug, def, recording({ projectId, action: 'toolkit.update', objectId: slug })))) throw new AppError('Toolkit_ResourceNotFound', `Custom toolkit ${slug} not found`);
      return { slug, type: 'custom' as const };
    },

    async deleteCustom(projectId: string, slug: string) {
      if (!(await repo.deleteCustom(projectId, slug, recording({ projectId, action: 'toolkit.delete', objectId: slug })))) throw new AppError('Toolkit_ResourceNotFound', `Custom toolkit ${slug} not found`);
      return { success: true };
    },
  };
}
export type ToolkitsService = ReturnType<typeof toolkitsService>;
