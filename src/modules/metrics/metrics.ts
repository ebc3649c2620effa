/**
 * Prometheus metrics (prom-client), in a registry of this app's own (several apps in one process,
 * as in tests, do not share counters). Two kinds:
 * - counted as things happen, at the cost of a label lookup and an add: HTTP requests per route
 *   template, webhook delivery attempts, OAuth refresh outcomes;
 * - read when scraped: the pool's connections (in memory), and from the database the job queues,
 *   the outbox backlog and lag, and connected accounts by status and toolkit. Database reads are
 *   cached for `dbCacheMs`, so scraping often costs the database little.
 * Every label set is bounded: route templates (never URLs), status codes, fixed outcome and reason
 * lists, job queue names, and toolkit slugs capped at MAX_TOOLKITS (the rest summed as `other`).
 * No user id, account id, project id or secret is ever a label.
 */
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Toolkits listed by name in the accounts gauge; the others are summed under `other`. */
export const MAX_TOOLKITS = 200;

/** OAuth error codes kept as a refresh reason (RFC 6749 §5.2 and Latchkey's own); others are `other`. */
const REFRESH_REASONS = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'invalid_request',
  'invalid_scope',
  'unsupported_grant_type',
  'server_error',
  'temporarily_unavailable',
  'timeout',
  'network_error',
  'no_refresh_token',
  'auth_config_deleted',
  'unexpected',
]);
export const refreshReason = (code: string | undefined) => (code === undefined ? 'none' : REFRESH_REASONS.has(code) ? code : 'other');

export type RefreshOutcome = 'refreshed' | 'expired' | 'retrying' | 'skipped';
export type DeliveryOutcome = 'SUCCEEDED' | 'PENDING' | 'FAILED';

type Row = Record<string, unknown>;

export function createMetrics(deps: { pool: pg.Pool; dbCacheMs?: number }) {
  const registry = new Registry();
  const registers = [registry];
  const dbCacheMs = deps.dbCacheMs ?? 15_000;

  const http = new Histogram({
    name: 'latchkey_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code: rate (count), errors (status_code) and latency.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const deliveries = new Counter({
    name: 'latchkey_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome: SUCCEEDED, PENDING (failed, will retry) or FAILED (final).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const refreshes = new Counter({
    name: 'latchkey_oauth_refresh_total',
    help: 'OAuth token refreshes by outcome (refreshed, expired, retrying, skipped) and reason (the OAuth error code, bounded).',
    labelNames: ['outcome', 'reason'] as const,
    registers,
  });

  new Gauge({
    name: 'latchkey_db_pool_connections',
    help: "The database pool's connections: total, idle, and requests waiting for one.",
    labelNames: ['state'] as const,
    registers,
    collect() {
      this.set({ state: 'total' }, deps.pool.totalCount);
      this.set({ state: 'idle' }, deps.pool.idleCount);
      this.set({ state: 'waiting' }, deps.pool.waitingCount);
    },
  });

  /** A database read shared by the gauges of one scrape and cached for dbCacheMs. */
  function cachedQuery(sql: string) {
    let cached: { at: number; rows: Promise<Row[]> } | undefined;
    return () => {
      if (!cached || Date.now() - cached.at > dbCacheMs) {
        const rows = deps.pool.query(sql).then(
          (r) => r.rows as Row[],
          () => [] as Row[],
        );
        cached = { at: Date.now(), rows };
      }
      return cached.rows;
    };
  }

  // pg-boss keeps its jobs in its own schema; before the job engine first starts there is none (and no rows).
  const jobs = cachedQuery(`SELECT name, state::text AS state, count(*)::int AS n FROM pgboss.job
                             WHERE state IN ('created', 'retry', 'active') GROUP BY 1, 2`);
  new Gauge({
    name: 'latchkey_job_queue_depth',
    help: 'Background jobs waiting (created, retry) or running (active), by queue.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      for (const r of await jobs()) this.set({ queue: String(r.name), state: String(r.state) }, Number(r.n));
    },
  });

  // Both reads walk partial indexes that hold only the backlog.
  const outbox = cachedQuery(`SELECT
      (SELECT count(*)::int FROM webhook_events WHERE dispatched_at IS NULL) AS events,
      (SELECT extract(epoch FROM now() - created_at)::float FROM webhook_events WHERE dispatched_at IS NULL ORDER BY seq LIMIT 1) AS event_age,
      (SELECT count(*)::int FROM webhook_deliveries WHERE status = 'PENDING') AS deliveries,
      (SELECT extract(epoch FROM now() - min(created_at))::float FROM webhook_deliveries WHERE status = 'PENDING') AS delivery_age`);
  new Gauge({
    name: 'latchkey_outbox_backlog',
    help: 'Outbox backlog: events not yet fanned out to subscriptions, and deliveries not yet done.',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const r = (await outbox())[0];
      this.set({ kind: 'events' }, Number(r?.events ?? 0));
      this.set({ kind: 'deliveries' }, Number(r?.deliveries ?? 0));
    },
  });
  new Gauge({
    name: 'latchkey_outbox_lag_seconds',
    help: 'Age of the oldest event not yet fanned out (events) and of the oldest delivery not yet done (deliveries); 0 when none.',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const r = (await outbox())[0];
      this.set({ kind: 'events' }, Number(r?.event_age ?? 0));
      this.set({ kind: 'deliveries' }, Number(r?.delivery_age ?? 0));
    },
  });

  const accounts = cachedQuery(`SELECT toolkit_slug, status, count(*)::int AS n FROM connected_accounts
                                 WHERE deleted_at IS NULL GROUP BY 1, 2`);
  new Gauge({
    name: 'latchkey_connected_accounts',
    help: `Connected accounts by status and toolkit (the ${MAX_TOOLKITS} largest toolkits by name, the rest as "other").`,
    labelNames: ['status', 'toolkit'] as const,
    registers,
    async collect() {
      this.reset();
      const rows = await accounts();
      const totals = new Map<string, number>();
      for (const r of rows) totals.set(String(r.toolkit_slug), (totals.get(String(r.toolkit_slug)) ?? 0) + Number(r.n));
      const named = new Set([...totals].sort((a, b) => b[1] - a[1]).slice(0, MAX_TOOLKITS).map(([slug]) => slug));
      const sums = new Map<string, number>();
      for (const r of rows) {
        const key = `${String(r.status)}\u0000${named.has(String(r.toolkit_slug)) ? String(r.toolkit_slug) : 'other'}`;
        sums.set(key, (sums.get(key) ?? 0) + Number(r.n));
      }
      for (const [key, n] of sums) {
        const [status, toolkit] = key.split('\u0000') as [string, string];
        this.set({ status, toolkit }, n);
      }
    },
  });

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest: (method: string, route: string, statusCode: number, seconds: number) =>
      http.observe({ method, route, status_code: String(statusCode) }, seconds),
    deliveryAttempt: (outcome: DeliveryOutcome) => deliveries.inc({ outcome }),
    refresh: (outcome: RefreshOutcome, code?: string) => refreshes.inc({ outcome, reason: refreshReason(code) }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
