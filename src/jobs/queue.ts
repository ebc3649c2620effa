/**
 * Background jobs on pg-boss (a Postgres-backed job engine): every replica runs a worker, and the
 * cron schedule fires once per minute across all of them. One job for now, `oauth-maintenance`:
 * refresh OAuth tokens ahead of expiry and fail redirects abandoned for longer than allowed.
 * Refreshes themselves are single-flight through the account's lease, so overlapping runs are safe.
 */
import PgBoss from 'pg-boss';
import type { OAuthService } from '../modules/oauth/oauth.service.js';

export const OAUTH_MAINTENANCE = 'oauth-maintenance';

export type Jobs = { boss: PgBoss; stop: () => Promise<void> };

export async function startJobs(o: {
  databaseUrl: string;
  oauth: Pick<OAuthService, 'sweep'>;
  /** Pending Connect Link accounts whose link expired unused become FAILED. */
  links?: { expireUnused: () => Promise<number> };
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
  });
  return {
    boss,
    // Lets a running job finish, then closes the engine's connections.
    stop: () => boss.stop({ graceful: true, wait: true, timeout: 10_000 }),
  };
}
