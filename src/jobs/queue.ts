/**
 * Background jobs on pg-boss (a Postgres-backed job engine): every replica runs workers, and each
 * job is asked for by every replica on a timer but run once (pg-boss singletons). Two jobs:
 * `oauth-maintenance` (once a minute: refresh OAuth tokens ahead of expiry, several at a time, fail abandoned redirects
 * and links, prune old webhook events, expired proxy files, old proxy call records and audit records past retention) and `webhook-dispatch` (every second: deliver the outbox).
 * Refreshes are single-flight through the account's lease, so overlapping runs are safe.
 *
 * Surviving the database: pg-boss 10's own workers complete and fail jobs without awaiting the
 * promise, so a job finishing while PostgreSQL is away is an unhandled rejection that ends the
 * process; its cron scheduler runs on such a worker too. So Latchkey runs its own worker loops
 * (fetch, run, complete/fail, every step awaited and caught) and its own timers instead of pg-boss's
 * `work` and `schedule`. A job whose completion is lost in an outage stays active until pg-boss
 * expires and retries it; both jobs are idempotent. Failures are logged with the job, and an outage
 * is logged once when it starts and once when it ends, not on every tick.
 */
import PgBoss from 'pg-boss';
import { isDatabaseUnavailable } from '../db/errors.js';
import { createPool } from '../db/prisma.js';
import type { OAuthService } from '../modules/oauth/oauth.service.js';

export const OAUTH_MAINTENANCE = 'oauth-maintenance';
export const WEBHOOK_DISPATCH = 'webhook-dispatch';
export const DISPATCH_WORKERS = 4;
export const DISPATCH_IDLE_POLL_MS = 100;
/** How often an idle dispatch worker asks pg-boss for a job. */
const DISPATCH_FETCH_POLL_MS = 500;

export type Jobs = { boss: PgBoss; stop: () => Promise<void> };
type Log = { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };

/** Logs "database unreachable" once per outage, and its end, instead of once per failed call. */
function outageReporter(log: Log, what: string) {
  let down = false;
  return {
    failed(err: unknown, extra: object = {}) {
      if (isDatabaseUnavailable(err)) {
        if (!down) log.warn({ ...extra, err: (err as Error)?.message }, `${what}: database unreachable; retrying`);
        down = true;
      } else {
        log.warn({ ...extra, err: (err as Error)?.message }, `${what} failed`);
      }
    },
    succeeded() {
      if (down) log.info({}, `${what}: database reachable again`);
      down = false;
    },
  };
}

/** A sleep that stop() can cut short. */
function pause(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * One worker: fetch a job, run it, record the outcome; wait `pollMs` when there was nothing (or the
 * database was away). Never throws: every failure is logged with its queue and job.
 */
function workLoop(boss: PgBoss, name: string, pollMs: number, run: () => Promise<void>, log: Log, signal: AbortSignal): Promise<void> {
  const report = outageReporter(log, `job ${name}`);
  return (async () => {
    while (!signal.aborted) {
      let jobs: PgBoss.Job[] = [];
      try {
        jobs = await boss.fetch(name);
      } catch (err) {
        report.failed(err, { queue: name });
      }
      for (const job of jobs) {
        try {
          await run();
          await boss.complete(name, job.id);
          report.succeeded();
        } catch (err) {
          report.failed(err, { queue: name, job: job.id });
          await boss.fail(name, job.id, { message: String((err as Error)?.message ?? err).slice(0, 500) }).catch(() => {
            // The database is away: pg-boss expires the active job and retries it later.
          });
        }
      }
      if (!jobs.length) await pause(pollMs, signal);
    }
  })();
}

/** Every `everyMs`, ask for one run of `name`, at most one per `singletonSeconds` across replicas. */
function tick(boss: PgBoss, name: string, everyMs: number, singletonSeconds: number, log: Log) {
  const report = outageReporter(log, `scheduling ${name}`);
  const ask = () =>
    boss.send(name, {}, { singletonKey: name, singletonSeconds }).then(
      () => report.succeeded(),
      (err: unknown) => report.failed(err, { queue: name }),
    );
  // Once at start as well: the first run should not wait a whole period (a webhook for a change
  // made just after start-up did).
  void ask();
  const timer = setInterval(ask, everyMs);
  timer.unref();
  return timer;
}

export async function startJobs(o: {
  databaseUrl: string;
  oauth: Pick<OAuthService, 'sweep'>;
  /** Pending Connect Link accounts whose link expired unused become FAILED. */
  links?: { expireUnused: () => Promise<number> };
  /** The webhook outbox's dispatcher; a run fans out new events and delivers what is due. */
  webhooks?: { runOnce: () => Promise<{ fannedOut: number; delivered: number }>; prune: () => Promise<unknown> };
  /**
   * The provider proxy: drops expired binary responses and call records past their retention, and
   * seals files an older replica stored in plaintext during a rolling upgrade.
   */
  proxy?: { prune: () => Promise<unknown>; sealPlaintextFiles: () => Promise<number> };
  /** The audit log: drops records past AUDIT_RETENTION_DAYS. */
  audit?: { prune: () => Promise<unknown> };
  /** How often this process asks for a dispatch run (runs are de-duplicated across replicas). */
  dispatchEveryMs?: number;
  /** How many dispatch runs this process may have going at once (default DISPATCH_WORKERS). */
  dispatchWorkers?: number;
  refreshAheadMs: number;
  /** Token refreshes run at once by the maintenance job (1 unless given). */
  refreshConcurrency?: number;
  log: Log;
  /** Seconds between maintenance runs (60); 0 runs it only when a job is sent by hand. */
  maintenanceEverySeconds?: number;
}): Promise<Jobs> {
  // pg-boss keeps its tables in its own schema, outside Prisma's migrations. `schedule: false`: its
  // cron runs on a worker that can crash the process in an outage (see above); ticks replace it.
  // Its connections come from a pool of ours, whose clients all have error listeners (createPool).
  const engine = outageReporter(o.log, 'job engine');
  const pool = createPool(o.databaseUrl, 3, (err) => engine.failed(err));
  const boss = new PgBoss({ db: { executeSql: (text, values) => pool.query(text, values) }, schema: 'pgboss', schedule: false });
  boss.on('error', (err: Error) => engine.failed(err));
  await boss.start();
  const stopping = new AbortController();
  const loops: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];

  const maintenanceEvery = o.maintenanceEverySeconds ?? 60;
  await boss.createQueue(OAUTH_MAINTENANCE);
  loops.push(
    workLoop(
      boss,
      OAUTH_MAINTENANCE,
      2000,
      async () => {
        // The refreshes may take half the period, batch after batch; the prunes follow.
        const refresh = { aheadMs: o.refreshAheadMs, batch: 200, concurrency: o.refreshConcurrency, budgetMs: (maintenanceEvery || 60) * 500 };
        const r = { ...(await o.oauth.sweep({ ...refresh, signal: stopping.signal })), links_expired: (await o.links?.expireUnused()) ?? 0 };
        if (r.expired || r.refreshed || r.links_expired) o.log.info(r, 'oauth maintenance');
        await o.webhooks?.prune();
        await o.proxy?.prune();
        await o.proxy?.sealPlaintextFiles();
        await o.audit?.prune();
      },
      o.log,
      stopping.signal,
    ),
  );
  // Asked for every 10 s (so a replica that just started, or an outage that just ended, soon asks),
  // run once per period.
  if (maintenanceEvery > 0) timers.push(tick(boss, OAUTH_MAINTENANCE, Math.min(10_000, maintenanceEvery * 1000), maintenanceEvery, o.log));

  if (o.webhooks) {
    const webhooks = o.webhooks;
    await boss.createQueue(WEBHOOK_DISPATCH);
    // A run waits for its slowest receiver (up to WEBHOOK_TIMEOUT_MS), and a worker takes one job at a
    // time: with a single worker, one slow subscription would hold up every other one. So several
    // workers: while one run waits, the next tick's job runs on another (it skips deliveries leased by
    // the waiting run, and the claim keeps each account's events in order).
    const every = o.dispatchEveryMs ?? 1000;
    const dispatch = async () => {
      // Keep going until the next run is due, passing again at once while there is work and every
      // DISPATCH_IDLE_POLL_MS when idle (a probe of the pending-events index): an event waits for
      // a pass, not for the next tick.
      // A run lasts a period plus a worker's poll: the next period's job is picked up (by another
      // worker) before this one ends, so passes never stop between two jobs. Ending on the period
      // left a gap of up to a poll (0-0.5 s) about every other second, straight into the delay
      // of whatever changed meanwhile. Two runs overlapping is safe: the fan-out is one at a time
      // and the claim skips what the other run holds.
      const until = Date.now() + every + DISPATCH_FETCH_POLL_MS;
      while (Date.now() < until && !stopping.signal.aborted) {
        const r = await webhooks.runOnce();
        if (!r.fannedOut && !r.delivered) await new Promise((resolve) => setTimeout(resolve, DISPATCH_IDLE_POLL_MS));
      }
    };
    for (let w = 0; w < (o.dispatchWorkers ?? DISPATCH_WORKERS); w++) {
      loops.push(workLoop(boss, WEBHOOK_DISPATCH, DISPATCH_FETCH_POLL_MS, dispatch, o.log, stopping.signal));
    }
    // A singleton per second: every replica asks, pg-boss runs one; the outbox makes that safe.
    timers.push(tick(boss, WEBHOOK_DISPATCH, every, Math.max(1, Math.round(every / 1000)), o.log));
  }
  return {
    boss,
    // Lets a running job finish, then closes the engine's connections.
    stop: async () => {
      for (const t of timers) clearInterval(t);
      stopping.abort();
      await Promise.all(loops);
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      await pool.end();
    },
  };
}
