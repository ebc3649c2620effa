/** System health. */
import { html } from '../../../lib/html.js';
import type { SystemHealth } from '../../health/system-health.js';
import { badge, page, table, when } from './layout.js';

type Op = { email: string; csrf: string };

const age = (from: Date | null | undefined, now: Date) => {
  if (!from) return 'none';
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
};

export function healthPage(op: Op, h: SystemHealth) {
  const db = h.database;
  return page(
    { title: 'System health', operator: op, section: 'health' },
    html`<h1>System health</h1><p class="muted small">As of ${when(h.at)}. Reload the page to refresh.</p>
<div class="grid">
<section class="card" aria-labelledby="h-db"><h2 id="h-db">Database</h2>${db.ok ? html`${badge('reachable', 'ok')} <p>Answered in ${db.latencyMs.toFixed(1)} ms.</p>` : html`${badge('unreachable', 'bad')} <p>${db.error}</p>`}</section>
<section class="card" aria-labelledby="h-outbox"><h2 id="h-outbox">Webhook outbox</h2>${
      h.outbox
        ? html`<dl class="facts"><dt>Events not yet fanned out</dt><dd>${String(h.outbox.pendingEvents)}</dd><dt>Oldest of them waits</dt><dd>${age(h.outbox.oldestPendingEventAt, h.at)}</dd>
<dt>Deliveries pending</dt><dd>${String(h.outbox.pendingDeliveries)}</dd><dt>Oldest pending delivery</dt><dd>${age(h.outbox.oldestPendingDeliveryAt, h.at)}</dd></dl>`
        : html`<p>${badge('unknown', 'warn')} The outbox could not be read.</p>`
    }</section>
</div>
<h2>Job queue</h2>
${
  h.queues === null
    ? html`<div class="card">${badge('unknown', 'warn')} The job queue could not be read.</div>`
    : table({
        caption: 'Job queue',
        head: ['Queue', 'State', 'Jobs'],
        rows: h.queues.map((q) => [q.queue, q.state, String(q.jobs)]),
        empty: 'No jobs waiting or running (or the job runner has not started: JOBS_ENABLED).',
      })
}`,
  );
}
