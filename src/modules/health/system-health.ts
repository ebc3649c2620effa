/**
 * The system's health as an operator reads it (the console's health page): does the database
 * answer, how many background jobs wait in each queue, and how far webhook delivery is behind.
 * Read-only; a part that cannot be read is reported as unknown rather than failing the whole page.
 */
import type pg from 'pg';
import type { WebhookHistoryRepository } from '../webhooks/webhook-history.repository.js';

export type QueueDepth = { queue: string; state: string; jobs: number };

export function systemHealth(deps: { pool: pg.Pool; outbox: Pick<WebhookHistoryRepository, 'backlog'> }) {
  return async function read() {
    const started = process.hrtime.bigint();
    const database = await deps.pool.query('SELECT 1').then(
      () => ({ ok: true as const, latencyMs: Number(process.hrtime.bigint() - started) / 1e6 }),
      (err: unknown) => ({ ok: false as const, error: (err as Error).message.slice(0, 200) }),
    );
    if (!database.ok) return { database, queues: null, outbox: null, at: new Date() };
    // pg-boss keeps its jobs in its own schema, created when the job runner first starts.
    const queues = await (async (): Promise<QueueDepth[] | null> => {
      const exists = await deps.pool.query<{ t: string | null }>("SELECT to_regclass('pgboss.job')::text AS t");
      if (!exists.rows[0]?.t) return [];
      const r = await deps.pool.query<{ queue: string; state: string; jobs: string }>(
        `SELECT name AS queue, state::text AS state, count(*)::text AS jobs FROM pgboss.job
          WHERE state IN ('created', 'retry', 'active') GROUP BY name, state ORDER BY name, state`,
      );
      return r.rows.map((row) => ({ queue: row.queue, state: row.state, jobs: Number(row.jobs) }));
    })().catch(() => null);
    const outbox = await deps.outbox.backlog().catch(() => null);
    return { database, queues, outbox, at: new Date() };
  };
}
export type SystemHealth = Awaited<ReturnType<ReturnType<typeof systemHealth>>>;
