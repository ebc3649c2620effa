/**
 * Background jobs on pg-boss (a Postgres-backed job engine): every replica runs a worker, and the
 * cron schedule fires once per minute across all of them. One job for now, `oauth-maintenance`:
 * refresh OAuth tokens ahead of expiry and fail redirects abandoned for longer than allowed.
 * Refreshes themselves are single-flight through the account's lease, so overlapping runs are safe.
 */
import PgBoss from 'pg-boss';
import type { OAuthService } from '../modules/oauth/oauth.service.js';

export const OAUTH_MAINTENANCE = 'oauth-maintenance';
export const WEBHOOK_DISPATCH = 'webhook-dispatch';
export const DISPATCH_WORKERS = 4;
export const DISPATCH_IDLE_POLL_MS = 100;

export type Jobs = { boss: PgBoss; stop: () => Promise<void> };

export async function startJobs(o: {
  databaseUrl: string;
  oauth: Pick<OAuthService, 'sweep'>;
  /** Pending Connect Link accounts whose link expired unused become FAILED. */
  links?: { expireUnused: () => Promise<number> };
  /** The webhook outbox's dispatcher; a run fans out new events and delivers what is due. */
  webhooks?: { runOnce: () => Promise<{ fannedOut: number; delivered: number }>; prune: () => Promise<unknown> };
  /** How often this process asks for a dispatch run (runs are de-duplicated across replicas). */
  dispatchEveryMs?: number;
  /** How many dispatch runs this process may have going at once (default DISPATCH_WORKERS). */
  dispatchWorkers?: number;
  refreshAheadMs: number;
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
  /** Cron expression for the maintenance run (every minute). */
  cron?: string;
}): Promise<Jobs> {
  // pg-boss keeps its tables in its own schema, outside Prisma's migrations.
  const boss = new PgBoss({ connectionString: o.databaseUrl, schema: 'pgboss', max: 3 });
  boss.on('error', (err: Error) => o.log.warn({ err: err.message }, 'job engine error'));
  await boss.start();
  await boss.createQueue(OAUTH_MAINTENANCE);
  await boss.schedule(OAUTH_MAINTENANCE, o.cron ?? '* * * * *');
  await boss.work(OAUTH_MAINTENANCE, async () => {
    const r = { ...(await o.oauth.sweep({ aheadMs: o.refreshAheadMs, batch: 200 })), links_expired: (await o.links?.expireUnused()) ?? 0 };
    if (r.expired || r.refreshed || r.links_expired) o.log.info(r, 'oauth maintenance');
    await o.webhooks?.prune();
  });
  let tick: NodeJS.Timeout | undefined;
  if (o.webhooks) {
    const webhooks = o.webhooks;
    await boss.createQueue(WEBHOOK_DISPATCH);
    // A run waits for its slowest receiver (up to WEBHOOK_TIMEOUT_MS), and a pg-boss worker takes one
    // job at a time: with a single worker, one slow subscription would hold up every other one. So
    // several workers: while one run waits, the next tick's job runs on another (it skips deliveries
    // leased by the waiting run, and the claim keeps each account's events in order).
    const every = o.dispatchEveryMs ?? 1000;
    for (let w = 0; w < (o.dispatchWorkers ?? DISPATCH_WORKERS); w++) {
      await boss.work(WEBHOOK_DISPATCH, { pollingIntervalSeconds: 0.5 }, async () => {
        // Keep going until the next run is due, passing again at once while there is work and every
        // DISPATCH_IDLE_POLL_MS when idle (a probe of the pending-events index): an event waits for
        // a pass, not for the next tick.
        const until = Date.now() + every;
        while (Date.now() < until) {
          const r = await webhooks.runOnce();
          if (!r.fannedOut && !r.delivered) await new Promise((resolve) => setTimeout(resolve, DISPATCH_IDLE_POLL_MS));
        }
      });
    }
    // A singleton per second: every replica asks, pg-boss runs one; the outbox makes that safe.
    tick = setInterval(() => {
      boss.send(WEBHOOK_DISPATCH, {}, { singletonKey: 'dispatch', singletonSeconds: Math.max(1, Math.round(every / 1000)) }).catch(() => {});
    }, every);
    tick.unref();
  }
  return {
    boss,
    // Lets a running job finish, then closes the engine's connections.
    stop: async () => {
      if (tick) clearInterval(tick);
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
}
