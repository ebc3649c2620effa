/** Projects and their API keys. */
import { html } from '../../../lib/html.js';
import { type ApiKeyRow } from '../../projects/projects.repository.js';
import { actionButton, badge, csrfField, notice, page, projectHeader, shownOnce, table, when, withQuery } from './layout.js';

type Op = { email: string; csrf: string };
type Paged<T> = { items: T[]; current: number; pages: number; total: number };
type ProjectRow = { id: string; name: string; createdAt: Date };

function pageLinks(path: string, p: Paged<unknown>) {
  return html`<nav class="pager" aria-label="Pages"><span>Page ${p.current} of ${p.pages} · ${p.total} ${p.total === 1 ? 'item' : 'items'}</span>
<span>${p.current > 1 ? html`<a href="${withQuery(path, { page: String(p.current - 1) })}" rel="prev">Previous page</a> ` : ''}${
    p.current < p.pages ? html`<a href="${withQuery(path, { page: String(p.current + 1) })}" rel="next">Next page</a>` : ''
  }</span></nav>`;
}

export function projectsPage(op: Op, list: Paged<ProjectRow>, created?: { project: ProjectRow; apiKey: string }) {
  return page(
    { title: 'Projects', operator: op, section: 'projects' },
    html`<h1>Projects</h1>
${created ? notice('ok', html`<p>Project <strong>${created.project.name}</strong> created. Its API key is shown <strong>once</strong>; copy it now.</p>${shownOnce('new-key', 'New API key', created.apiKey)}`) : ''}
${table({
  caption: 'Projects',
  head: ['Name', 'Id', 'Created'],
  rows: list.items.map((p) => [html`<a href="/console/projects/${p.id}/accounts">${p.name}</a>`, html`<span class="mono">${p.id}</span>`, when(p.createdAt)]),
  empty: 'No projects yet. Create the first one below.',
})}
${pageLinks('/console/projects', list)}
<h2>New project</h2>
<form method="post" action="/console/projects" class="inline">${csrfField(op.csrf)}<div class="field"><label for="project-name">Name</label><input id="project-name" name="name" required maxlength="120"></div><button type="submit">Create project</button></form>`,
  );
}

export function keysPage(op: Op, project: ProjectRow, list: Paged<ApiKeyRow>, created?: { id: string; name: string; apiKey: string }) {
  const path = `/console/projects/${project.id}/keys`;
  return page(
    { title: `API keys · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'keys', 'API keys')}
${created ? notice('ok', html`<p>API key <strong>${created.name}</strong> (<span class="mono">${created.id}</span>) created. It is shown <strong>once</strong>; copy it now.</p>${shownOnce('new-key', 'New API key', created.apiKey)}`) : ''}
${table({
  caption: 'API keys',
  head: ['Name', 'Id', 'Starts with', 'Created', 'Last used', 'State', ''],
  rows: list.items.map((k) => [
    k.name,
    html`<span class="mono">${k.id}</span>`,
    html`<span class="mono">${k.prefix}…</span>`,
    when(k.createdAt),
    when(k.lastUsedAt),
    k.revokedAt ? badge('revoked') : badge('active', 'ok'),
    k.revokedAt ? '' : actionButton({ action: `${path}/${k.id}/revoke`, label: 'Revoke', csrf: op.csrf, danger: true, confirm: `Revoke ${k.name}? Apps using it stop working.` }),
  ]),
  empty: 'This project has no API keys.',
})}
${pageLinks(path, list)}
<h2>New API key</h2>
<form method="post" action="${path}" class="inline">${csrfField(op.csrf)}<div class="field"><label for="key-name">Name</label><input id="key-name" name="name" required maxlength="120" value="console"></div><button type="submit">Create key</button></form>`,
  );
}
