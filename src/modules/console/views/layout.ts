/** The console's page frame and the small pieces every page shares (tables, pagers, forms, badges). */
import { type HtmlValue, type SafeHtml, html } from '../../../lib/html.js';

export type Section = 'projects' | 'health';
export type ProjectTab = 'keys' | 'auth-configs' | 'accounts' | 'webhooks' | 'audit';

export type Frame = {
  title: string;
  /** The signed-in operator; absent on the sign-in pages. */
  operator?: { email: string; csrf: string };
  section?: Section;
};

const NAV: [Section, string, string][] = [
  ['projects', 'Projects', '/console/projects'],
  ['health', 'System health', '/console/health'],
];

export function page(frame: Frame, body: HtmlValue): SafeHtml {
  const op = frame.operator;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${frame.title} · Latchkey console</title>
<link rel="stylesheet" href="/console/assets/console.css"><script src="/console/assets/console.js" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/console">Latchkey console</a>
${op
  ? html`<nav aria-label="Console"><ul>${NAV.map(([key, label, href]) => html`<li><a href="${href}"${frame.section === key ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>
<div class="who"><span>${op.email}</span><form method="post" action="/console/sign-out">${csrfField(op.csrf)}<button type="submit">Sign out</button></form></div>`
  : ''}
</header>
<main id="main">${body}</main></body></html>`;
}

export const csrfField = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

/** A POST button in its own form; `confirm` asks first (with the script; without it the button just posts). */
export function actionButton(o: { action: string; label: string; csrf: string; confirm?: string; danger?: boolean; secondary?: boolean; fields?: Record<string, string> }) {
  const cls = o.danger ? 'danger' : o.secondary ? 'secondary' : '';
  return html`<form method="post" action="${o.action}"${o.confirm ? html` data-confirm="${o.confirm}"` : ''}>${csrfField(o.csrf)}${Object.entries(o.fields ?? {}).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  )}<button type="submit"${cls ? html` class="${cls}"` : ''}>${o.label}</button></form>`;
}

export const badge = (value: string, kind?: string) => html`<span class="badge ${kind ?? value}">${value}</span>`;

export const when = (d: Date | string | null | undefined) => {
  if (!d) return html`<span class="muted">never</span>`;
  const iso = typeof d === 'string' ? d : d.toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
};

/** A table inside a horizontally scrolling frame, or the empty state when there are no rows. */
export function table(o: { caption: string; head: string[]; rows: HtmlValue[][]; empty: HtmlValue }) {
  if (o.rows.length === 0) return html`<div class="card empty" role="status">${o.empty}</div>`;
  return html`<div class="scroll" role="region" aria-label="${o.caption}" tabindex="0"><table><caption class="skip">${o.caption}</caption>
<thead><tr>${o.head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${o.rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table></div>`;
}

/** Where a list stands and how to move: the next page by cursor, and back to the first. */
export function pager(o: { current: number; pages: number; total: number; next: string | null; first: string | null }) {
  return html`<nav class="pager" aria-label="Pages"><span>Page ${o.current} of ${o.pages} · ${o.total} ${o.total === 1 ? 'item' : 'items'}</span>
<span>${o.first && o.current > 1 ? html`<a href="${o.first}">First page</a> ` : ''}${o.next ? html`<a href="${o.next}" rel="next">Next page</a>` : ''}</span></nav>`;
}

/** A URL with these query parameters (empty values dropped). */
export function withQuery(path: string, params: Record<string, string | undefined>) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export function notice(kind: 'ok' | 'bad' | 'info', body: HtmlValue) {
  return html`<div class="notice ${kind}" role="${kind === 'bad' ? 'alert' : 'status'}">${body}</div>`;
}

/** A value shown once (a new API key, a sign-in or Connect Link, a webhook secret), with a copy button. */
export function shownOnce(id: string, label: string, value: string) {
  return html`<div class="secret"><label class="skip" for="${id}">${label}</label><input id="${id}" readonly value="${value}" aria-label="${label}"><button type="button" class="secondary" data-copy="${id}" hidden>Copy</button></div>`;
}

const TABS: [ProjectTab, string][] = [
  ['accounts', 'Connected accounts'],
  ['auth-configs', 'Auth configs'],
  ['webhooks', 'Webhooks'],
  ['keys', 'API keys'],
  ['audit', 'Audit log'],
];

/** The header of every page inside a project: where we are, and the project's tabs. */
export function projectHeader(project: { id: string; name: string }, tab: ProjectTab, title: string) {
  return html`<p class="crumbs"><a href="/console/projects">Projects</a> / ${project.name} <span class="mono">(${project.id})</span></p>
<h1>${title}</h1>
<nav class="tabs" aria-label="Project"><ul>${TABS.map(([key, label]) => html`<li><a href="/console/projects/${project.id}/${key}"${tab === key ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>`;
}
