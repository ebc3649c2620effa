/** Auth configs and webhook subscriptions of a project. */
import { html } from '../../../lib/html.js';
import { type DeliveryRow, deliveriesTable } from './accounts.js';
import { actionButton, badge, notice, page, pager, projectHeader, shownOnce, table, when, withQuery } from './layout.js';

type Op = { email: string; csrf: string };
type Project = { id: string; name: string };
type Paged<T> = { items: T[]; next_cursor: string | null; total_items: number; total_pages: number; current_page: number };
type AuthConfigItem = { id: string; name: string; toolkit: { slug: string }; auth_scheme: string; is_composio_managed: boolean; status: string; no_of_connections: number; created_at: string };
type Subscription = { id: string; webhook_url: string; enabled_events: string[]; status: string; disabled_reason: string | null; consecutive_failures: number; created_at: string };

const pagerOf = (path: string, list: Paged<unknown>) =>
  pager({ current: list.current_page, pages: list.total_pages, total: list.total_items, next: list.next_cursor ? withQuery(path, { cursor: list.next_cursor }) : null, first: path });

export function authConfigsPage(op: Op, project: Project, list: Paged<AuthConfigItem>) {
  const path = `/console/projects/${project.id}/auth-configs`;
  return page(
    { title: `Auth configs · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'auth-configs', 'Auth configs')}
${table({
  caption: 'Auth configs',
  head: ['Name', 'Id', 'Toolkit', 'Scheme', 'Credentials', 'Accounts', 'Status', ''],
  rows: list.items.map((c) => [
    c.name,
    html`<span class="mono">${c.id}</span>`,
    c.toolkit.slug,
    c.auth_scheme,
    c.is_composio_managed ? 'managed' : 'custom',
    html`<a href="${withQuery(`/console/projects/${project.id}/accounts`, { toolkit: c.toolkit.slug })}">${String(c.no_of_connections)}</a>`,
    badge(c.status),
    c.status === 'ENABLED'
      ? actionButton({ action: `${path}/${c.id}/disable`, label: 'Disable', csrf: op.csrf, secondary: true, confirm: 'Disable this auth config? New connections are refused.' })
      : actionButton({ action: `${path}/${c.id}/enable`, label: 'Enable', csrf: op.csrf, secondary: true }),
  ]),
  empty: 'No auth configs. Apps create them with POST /api/v3.1/auth_configs.',
})}
${pagerOf(path, list)}`,
  );
}

export function webhooksPage(op: Op, project: Project, list: Paged<Subscription>) {
  const path = `/console/projects/${project.id}/webhooks`;
  return page(
    { title: `Webhooks · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'webhooks', 'Webhook subscriptions')}
${table({
  caption: 'Webhook subscriptions',
  head: ['URL', 'Id', 'Events', 'Status', 'Failures in a row', 'Created'],
  rows: list.items.map((s) => [
    html`<a class="mono" href="${path}/${s.id}">${s.webhook_url}</a>`,
    html`<span class="mono">${s.id}</span>`,
    s.enabled_events.join(', '),
    html`${badge(s.status)}${s.disabled_reason ? html`<div class="small muted">${s.disabled_reason}</div>` : ''}`,
    String(s.consecutive_failures),
    when(s.created_at),
  ]),
  empty: 'No webhook subscriptions. Apps create them with POST /api/v3.1/webhook_subscriptions.',
})}
${pagerOf(path, list)}`,
  );
}

export function webhookPage(
  op: Op,
  project: Project,
  d: { subscription: Subscription; deliveries: { items: DeliveryRow[]; next: string | null } },
  extra: { done?: string; secret?: { secret: string; previous_secret_expires_at: string } } = {},
) {
  const s = d.subscription;
  const base = `/console/projects/${project.id}/webhooks/${s.id}`;
  return page(
    { title: `Webhook ${s.id} · ${project.name}`, operator: op, section: 'projects' },
    html`${projectHeader(project, 'webhooks', `Webhook ${s.id}`)}
${extra.done ? notice('ok', extra.done) : ''}
${extra.secret
  ? notice('ok', html`<p>New signing secret, shown <strong>once</strong>. The previous one keeps signing alongside it until ${when(extra.secret.previous_secret_expires_at)}.</p>${shownOnce('new-secret', 'New signing secret', extra.secret.secret)}`)
  : ''}
<div class="card"><dl class="facts"><dt>URL</dt><dd class="mono">${s.webhook_url}</dd><dt>Status</dt><dd>${badge(s.status)} ${s.disabled_reason ?? ''}</dd>
<dt>Events</dt><dd>${s.enabled_events.join(', ')}</dd><dt>Failures in a row</dt><dd>${String(s.consecutive_failures)}</dd><dt>Created</dt><dd>${when(s.created_at)}</dd></dl></div>
<div class="actions">${actionButton({ action: `${base}/rotate-secret`, label: 'Rotate signing secret', csrf: op.csrf, secondary: true, confirm: 'Make a new signing secret? The old one keeps working for the grace period.' })}</div>
<h2 id="deliveries">Delivery log</h2>
${deliveriesTable(d.deliveries.items, {
  showSubscription: false,
  retry: (row) => actionButton({ action: `${base}/deliveries/${row.id}/retry`, label: 'Retry', csrf: op.csrf, secondary: true }),
})}
${d.deliveries.next ? html`<p class="pager"><a href="${withQuery(base, { cursor: d.deliveries.next })}#deliveries" rel="next">Older deliveries</a></p>` : ''}`,
  );
}
