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
import type { ListToolkitsQuery, MultiToolkitsBody, ToolkitDetail } from './toolkits.schemas.js';
import type { AuthScheme, ToolkitDefinition, ToolkitField } from './toolkit-definition.js';
import { ToolkitDefinitionSchema, logoOf, serverCalledUrls, storedDefinition } from './toolkit-definition.js';
import { type IndexedToolkit, type ResolvedToolkit, catalogueIndex, indexed, mergeBySlug } from './catalogue-index.js';
import { categoriesOf } from './categories.js';

export type { ResolvedToolkit };

/** Which schemes of a toolkit the operator has app credentials for (see the auth-configs module). */
export type ManagedSchemes = (slug: string) => AuthScheme[];

/** Keyset cursors: the last slug, and with `sort_by=usage` the last usage count too. */
const CursorShape = z.object({ after: z.string().max(63), u: z.number().int().min(0).optional() });

/** What a list asks for: the query of `GET /toolkits`, or the body of `POST /toolkits/multi`. */
type ListRequest = Pick<ListToolkitsQuery, 'category' | 'managed_by' | 'sort_by' | 'search' | 'limit' | 'cursor'> & {
  type?: ListToolkitsQuery['type'];
  slugs?: string[];
};
/** Which toolkits a list holds, whatever its order and page. */
type ListFilter = Pick<ListRequest, 'category' | 'managed_by' | 'search' | 'type' | 'slugs'>;

/** Slugs that are routes under /toolkits. */
const RESERVED_SLUGS = new Set(['categories']);

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

  const index = catalogueIndex(
    [...catalogue.values()].map((definition) => ({ definition, type: 'native' as const, createdAt: CATALOGUE_DATE, updatedAt: CATALOGUE_DATE })),
  );

  async function customToolkits(projectId: string): Promise<IndexedToolkit[]> {
    const rows = await repo.listCustom(projectId);
    return rows.map((row) =>
      indexed({ definition: storedDefinition(row.definition), type: 'custom', createdAt: row.createdAt, updatedAt: row.updatedAt }),
    );
  }

  /** The toolkits a list request matches, ordered by slug. Built-in ones come from the index. */
  async function matching(projectId: string, q: ListFilter): Promise<IndexedToolkit[]> {
    const search = q.search?.toLowerCase();
    const category = q.category?.toLowerCase();
    const slugs = q.slugs && new Set(q.slugs.map((s) => s.toLowerCase()));
    const keep = (t: IndexedToolkit) =>
      (!slugs || slugs.has(t.definition.slug)) &&
      (!q.type || q.type === 'all' || t.type === q.type) &&
      (q.managed_by !== 'composio' || managedSchemes(t.definition.slug).length > 0) &&
      (!category || t.categoryKeys.has(category)) &&
      (!search || t.text.includes(search));
    const wantBuiltIn = q.managed_by !== 'project' && q.type !== 'custom';
    const builtIn = wantBuiltIn ? (category ? index.inCategory(category) : index.all).filter(keep) : [];
    // A project's own toolkits are never managed by the server.
    const wantCustom = q.type !== 'native' && q.managed_by !== 'composio';
    const own = wantCustom ? (await customToolkits(projectId)).filter(keep) : [];
    return mergeBySlug(builtIn, own);
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
        proxy: { base_url: s.base_url ?? d.base_url ?? '' },
        ...(s.auth_hint_url ? { auth_hint_url: s.auth_hint_url } : {}),
        availability: s.availability,
        ...(s.note ? { note: s.note } : {}),
      })),
      auth_guide_url: d.docs_url ?? null,
      base_url: d.base_url ?? '',
      ...(d.verification ? { verification: d.verification } : {}),
      meta: {
        created_at: t.createdAt.toISOString(),
        updated_at: t.updatedAt.toISOString(),
        description: d.description,
        logo: logoOf(d),
        app_url: d.app_url ?? null,
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
      auth_guide_url: d.docs_url ?? null,
      deprecated: { toolkitId: d.slug },
      meta: {
        created_at: full.meta.created_at,
        updated_at: full.meta.updated_at,
        description: d.description,
        logo: logoOf(d),
        app_url: d.app_url ?? null,
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
    return { definition: storedDefinition(row.definition), type: 'custom', createdAt: row.createdAt, updatedAt: row.updatedAt };
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
    // `GET /toolkits/categories` is a route: a toolkit of that name could never be read back.
    if (RESERVED_SLUGS.has(parsed.data.slug)) {
      throw new AppError('Toolkit_InvalidDefinition', `Invalid toolkit definition: slug ${parsed.data.slug} is reserved`, { errors: [`slug: ${parsed.data.slug} is reserved`] });
    }
    return parsed.data;
  }

  /**
   * One page of a list. Alphabetical order is a keyset on the slug; `usage` orders by the project's
   * live connected accounts per toolkit (most first, then by slug), a keyset on (count, slug).
   */
  async function page(projectId: string, q: ListRequest) {
    let list = await matching(projectId, q);
    const usage = q.sort_by === 'usage' ? await repo.usageBySlug(projectId) : undefined;
    const usageOf = (t: IndexedToolkit) => usage?.get(t.definition.slug) ?? 0;
    if (usage) list = [...list].sort((a, b) => usageOf(b) - usageOf(a) || (a.definition.slug < b.definition.slug ? -1 : 1));
    const cursor = q.cursor ? decodeCursor(q.cursor, CursorShape) : undefined;
    const after = (t: IndexedToolkit) => {
      if (!cursor) return true;
      if (!usage || cursor.u === undefined) return t.definition.slug > cursor.after;
      const u = usageOf(t);
      return u < cursor.u || (u === cursor.u && t.definition.slug > cursor.after);
    };
    const start = cursor ? list.findIndex(after) : 0;
    const from = start < 0 ? list.length : start;
    const items = list.slice(from, from + q.limit);
    const last = items[items.length - 1];
    const hasMore = from + q.limit < list.length;
    return {
      items: items.map(listItem),
      next_cursor: hasMore && last ? encodeCursor({ after: last.definition.slug, ...(usage ? { u: usageOf(last) } : {}) }) : null,
      ...pageInfo(list.length, q.limit, from),
    };
  }

  return {
    resolve,
    detail,

    list: (projectId: string, q: ListToolkitsQuery) => page(projectId, q),

    /** `POST /toolkits/multi`: the list, optionally narrowed to the given slugs. */
    multi: (projectId: string, body: MultiToolkitsBody) =>
      page(projectId, {
        slugs: body.toolkits,
        category: body.category,
        managed_by: body.managed_by ?? 'all',
        sort_by: body.sort_by ?? 'alphabetically',
        limit: body.limit ?? 50,
        cursor: body.cursor,
      }),

    /** Every category the project's toolkits use, once each (the built-in ones precomputed). */
    async categories(projectId: string) {
      const own = await repo.listCustom(projectId);
      const items = own.length ? categoriesOf([...catalogue.values(), ...own.map((r) => storedDefinition(r.definition))]) : index.categories;
      return { items, next_cursor: null, ...pageInfo(items.length, Math.max(items.length, 1), 0) };
    },

    /** Every toolkit the project can use, ordered by slug (the older API's app list). */
    async definitions(projectId: string): Promise<ToolkitDefinition[]> {
      return (await matching(projectId, { managed_by: 'all' })).map((t) => t.definition);
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
