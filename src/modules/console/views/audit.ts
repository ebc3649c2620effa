/** A project's audit log, and the records table the account page shows too. */
import { html } from '../../../lib/html.js';
import { AUDIT_ACTIONS } from '../../audit/audit.actions.js';
import type { AuditRecordObject } from '../../audit/audit.schemas.js';
import { badge, page, projectHeader, table, when, withQuery } from './layout.js';

type Op = { email: string; csrf: string };
type Filters = { object?: string; actor?: string; action?: string; from?: string; to?: string; cursor?: string };

const detailText = (d: Record<string, unknown> | null) =>
  d ? Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '';

/** A record about several objects (a list page) says how many, and names them on demand. */
const objectCell = (r: AuditRecordObject) =>
  r.object_ids
    ? html`<span class="mono">${r.object_id}</span> <details class="small"><summary>${String(r.object_ids.length)} accounts</summary><span class="mono">${r.object_ids.join(', ')}</span></details>`
    : html`<span class="mono">${r.object_id}</span>`;

export function auditTable(rows: AuditRecordObject[], o: { showObject: boolean }) {
  return table({
    caption: 'Audit records',
    head: ['When', 'Actor', 'Action', ...(o.showObject ? ['Object'] : []), 'Outcome', 'Detail', 'Request'],
    rows: rows.map((r) => [
      when(r.created_at),
      html`<span class="mono">${r.actor}</span>`,
      r.action,
      ...(o.showObject ? [objectCell(r)] : []),
      badge(r.outcome, r.outcome === 'success' ? 'ok' : 'bad'),
      html`<span class="small">${detailText(r.detail)}</span>`,
      html`<span class="mono small">${r.request_id ?? ''}</span>`,
    ]),
    empty: 'No audit records.',
  });
}

const field = (id: string, label: string, input: ReturnType<typeof html>) => html`<div class="field"><label for="${id}">${label}</label>${input}</div>`;

export function auditPage(op: Op, project: { id: string; name: string }, f: Filters, list: { items: AuditRecordObject[]; next_cursor: string | null }) {
  const path = `/console/projects/${project.id}/audit`;
  const filters = { object: f.object, actor: f.actor, action: f.action, from: f.from, to: f.to };
  const filtered = Object.values(filters).some(Boolean);
  return page(
    { title: `Audit log · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'audit', 'Audit log')}
<form method="get" action="${path}" class="filters" role="search" aria-label="Filter audit records">
${field('a-object', 'Object id', html`<input id="a-object" name="object" value="${f.object ?? ''}" maxlength="120" placeholder="ca_…, ac_…, key_…">`)}
${field('a-actor', 'Actor', html`<input id="a-actor" name="actor" value="${f.actor ?? ''}" maxlength="120" placeholder="key_… or operator:…">`)}
${field('a-action', 'Action', html`<select id="a-action" name="action"><option value="">Any</option>${AUDIT_ACTIONS.map((a) => html`<option${f.action === a ? html` selected` : ''}>${a}</option>`)}</select>`)}
${field('a-from', 'From (UTC)', html`<input id="a-from" name="from" type="datetime-local" value="${f.from ?? ''}">`)}
${field('a-to', 'Before (UTC)', html`<input id="a-to" name="to" type="datetime-local" value="${f.to ?? ''}">`)}
<button type="submit">Filter</button>${filtered ? html` <a class="button secondary" href="${path}">Clear</a>` : ''}
</form>
${auditTable(list.items, { showObject: true })}
<nav class="pager" aria-label="Pages"><span>Newest first</span><span>${f.cursor ? html`<a href="${withQuery(path, filters)}">Newest records</a> ` : ''}${
      list.next_cursor ? html`<a href="${withQuery(path, { ...filters, cursor: list.next_cursor })}" rel="next">Older records</a>` : ''
    }</span></nav>`,
  );
}
