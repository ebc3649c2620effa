/** Connected accounts: the filtered list, one account's detail and history, and the reconnect link. */
import { type HtmlValue, html } from '../../../lib/html.js';
import type { AccountObject } from '../../connected-accounts/connected-accounts.schemas.js';
import { STATUSES } from '../../connected-accounts/state-machine.js';
import type { AuditRecordObject } from '../../audit/audit.schemas.js';
import { auditTable } from './audit.js';
import { actionButton, badge, notice, page, pager, projectHeader, shownOnce, table, when, withQuery } from './layout.js';

type Op = { email: string; csrf: string };
type Project = { id: string; name: string };
type Filters = { user?: string; toolkit?: string; status?: string; label?: string; cursor?: string; deleted?: string };
type ListItem = { id: string; user_id: string; toolkit: { slug: string }; status: string; labels: string[]; created_at: string; alias: string | null };
type List = { items: ListItem[]; next_cursor: string | null; total_items: number; total_pages: number; current_page: number };
type EventRow = { id: string; type: string; createdAt: Date; status: string | null; statusReason: string | null; dispatchedAt: Date | null };
export type DeliveryRow = {
  id: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  event: { type: string };
  subscription: { url: string };
};

const field = (id: string, label: string, input: HtmlValue) => html`<div class="field"><label for="${id}">${label}</label>${input}</div>`;

export function accountsPage(op: Op, project: Project, f: Filters, list: List) {
  const path = `/console/projects/${project.id}/accounts`;
  const filters = { user: f.user, toolkit: f.toolkit, status: f.status, label: f.label };
  const filtered = Object.values(filters).some(Boolean);
  return page(
    { title: `Connected accounts · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'accounts', 'Connected accounts')}
${f.deleted ? notice('ok', html`Account <span class="mono">${f.deleted}</span> was deleted.`) : ''}
<form method="get" action="${path}" class="filters" role="search" aria-label="Filter accounts">
${field('f-user', 'User id', html`<input id="f-user" name="user" value="${f.user ?? ''}" maxlength="256">`)}
${field('f-toolkit', 'Toolkit', html`<input id="f-toolkit" name="toolkit" value="${f.toolkit ?? ''}" maxlength="63" placeholder="e.g. github">`)}
${field('f-status', 'Status', html`<select id="f-status" name="status"><option value="">Any</option>${STATUSES.map((s) => html`<option${f.status === s ? html` selected` : ''}>${s}</option>`)}</select>`)}
${field('f-label', 'Label', html`<input id="f-label" name="label" value="${f.label ?? ''}" maxlength="64">`)}
<button type="submit">Filter</button>${filtered ? html` <a class="button secondary" href="${path}">Clear</a>` : ''}
</form>
${table({
  caption: 'Connected accounts',
  head: ['Account', 'User', 'Toolkit', 'Status', 'Labels', 'Created'],
  rows: list.items.map((a) => [
    html`<a href="${path}/${a.id}" class="mono">${a.id}</a>${a.alias ? html`<div class="small muted">${a.alias}</div>` : ''}`,
    a.user_id,
    a.toolkit.slug,
    badge(a.status),
    a.labels.length ? a.labels.join(', ') : html`<span class="muted">none</span>`,
    when(a.created_at),
  ]),
  empty: filtered ? 'No accounts match these filters.' : 'No connected accounts yet.',
})}
${pager({
  current: list.current_page,
  pages: list.total_pages,
  total: list.total_items,
  next: list.next_cursor ? withQuery(path, { ...filters, cursor: list.next_cursor }) : null,
  first: withQuery(path, filters),
})}`,
  );
}

export function deliveriesTable(rows: DeliveryRow[], o: { showSubscription: boolean; retry?: (d: DeliveryRow) => HtmlValue }) {
  return table({
    caption: 'Webhook deliveries',
    head: ['Created', 'Event', ...(o.showSubscription ? ['Subscription'] : []), 'Status', 'Attempts', 'Last answer', ...(o.retry ? [''] : [])],
    rows: rows.map((d) => [
      when(d.createdAt),
      d.event.type,
      ...(o.showSubscription ? [html`<span class="mono">${d.subscription.url}</span>`] : []),
      badge(d.status),
      String(d.attempts),
      d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode}` : (d.lastError ?? '—'),
      ...(o.retry ? [o.retry(d)] : []),
    ]),
    empty: 'No webhook deliveries.',
  });
}

export function accountPage(
  op: Op,
  project: Project,
  d: { account: AccountObject; audit: { items: AuditRecordObject[]; next_cursor: string | null }; events: EventRow[]; nextEvents: string | null; deliveries: { items: DeliveryRow[]; next: string | null } },
  extra: { done?: string; link?: { redirect_url: string; expires_at: string; connected_account_id: string } } = {},
) {
  const a = d.account;
  const base = `/console/projects/${project.id}/accounts/${a.id}`;
  const isOAuth2 = a.auth_config.auth_scheme === 'OAUTH2';
  const fields = Object.entries(a.state.val).filter(([k]) => k !== 'status');
  const act = (path: string, label: string, more: { danger?: boolean; secondary?: boolean; confirm?: string } = {}) =>
    actionButton({ action: `${base}/${path}`, label, csrf: op.csrf, ...more });
  return page(
    { title: `${a.id} · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'accounts', `Account ${a.id}`)}
${extra.done ? notice('ok', extra.done) : ''}
${extra.link
  ? notice(
      'info',
      html`<p><strong>Reconnect link for ${a.user_id}</strong>: send it to the user. It works once and expires at ${when(extra.link.expires_at)}. Completing it creates account <a class="mono" href="/console/projects/${project.id}/accounts/${extra.link.connected_account_id}">${extra.link.connected_account_id}</a>.</p>${shownOnce('reconnect-link', 'Reconnect link', extra.link.redirect_url)}`,
    )
  : ''}
<div class="card"><dl class="facts">
<dt>Status</dt><dd>${badge(a.status)}${a.status_reason ? html` <span class="muted">${a.status_reason}</span>` : ''}</dd>
<dt>User</dt><dd>${a.user_id}</dd>
<dt>Toolkit</dt><dd>${a.toolkit.slug}</dd>
<dt>Auth config</dt><dd><span class="mono">${a.auth_config.id}</span> (${a.auth_config.auth_scheme}${a.auth_config.is_disabled ? ', disabled' : ''})</dd>
<dt>Type</dt><dd>${a.experimental?.account_type ?? 'PRIVATE'}</dd>
<dt>Alias</dt><dd>${a.alias ?? html`<span class="muted">none</span>`}</dd>
<dt>Labels</dt><dd>${a.labels?.length ? a.labels.join(', ') : html`<span class="muted">none</span>`}</dd>
<dt>Fields</dt><dd>${fields.length ? fields.map(([k, v]) => html`<div><span class="mono">${k}</span>: <span class="mono">${typeof v === 'string' ? v : JSON.stringify(v)}</span></div>`) : html`<span class="muted">none</span>`}</dd>
<dt>Created</dt><dd>${when(a.created_at)}</dd><dt>Updated</dt><dd>${when(a.updated_at)}</dd>
</dl></div>
<div class="actions" aria-label="Actions">
${a.status === 'ACTIVE' ? act('disable', 'Disable', { secondary: true }) : ''}
${a.status === 'INACTIVE' ? act('enable', 'Enable', { secondary: true }) : ''}
${act('reconnect', 'Send reconnect link', { secondary: true })}
${isOAuth2 && a.status === 'ACTIVE' ? act('revoke', 'Revoke at the provider', { danger: true, confirm: 'Revoke this account’s tokens at the provider?' }) : ''}
${act('delete', 'Delete', { danger: true, confirm: 'Delete this connected account? Apps can no longer use it.' })}
</div>
<h2 id="history">Status history and events</h2>
${table({
  caption: 'Status history and events',
  head: ['When', 'Event', 'Status', 'Reason'],
  rows: d.events.map((e) => [when(e.createdAt), e.type.replace('composio.connected_account.', ''), e.status ? badge(e.status) : '—', e.statusReason ?? '']),
  empty: 'No events recorded (events are kept for 7 days).',
})}
${d.nextEvents ? html`<p class="pager"><a href="${withQuery(base, { events: d.nextEvents })}#history" rel="next">Older events</a></p>` : ''}
<h2 id="deliveries">Webhook deliveries</h2>
${deliveriesTable(d.deliveries.items, { showSubscription: true })}
${d.deliveries.next ? html`<p class="pager"><a href="${withQuery(base, { deliveries: d.deliveries.next })}#deliveries" rel="next">Older deliveries</a></p>` : ''}
<h2 id="audit">Audit records</h2>
${auditTable(d.audit.items, { showObject: false })}
${d.audit.next_cursor ? html`<p class="pager"><a href="${withQuery(base, { audit: d.audit.next_cursor })}#audit" rel="next">Older records</a></p>` : ''}`,
  );
}
