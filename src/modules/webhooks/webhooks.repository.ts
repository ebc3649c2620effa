/**
 * Prisma and SQL for webhooks: subscriptions (scoped by project), the outbox's fan-out, claiming due
 * deliveries (oldest event first, never two in flight for one subscription and account), and the
 * attempt log. No network call happens inside any transaction here.
 */
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';
import { type Alongside, writeWith } from '../../db/transaction.js';

/**
 * How long a worker owns a claimed delivery before another may take it (covers a crash). It must
 * outlast the longest attempt: WEBHOOK_TIMEOUT_MS (at most 60 s) plus DNS and recording the outcome,
 * or a slow but live attempt would be claimed and sent again by another worker.
 */
export const DELIVERY_LEASE_SECONDS = 120;

export type ClaimedDelivery = {
  id: string;
  project_id: string;
  subscription_id: string;
  event_id: string;
  attempts: number;
  created_at: Date;
  url: string;
  version: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  body: string;
};

// Walks pending deliveries in due order through a partial index (status = 'PENDING'), and stops at
// its LIMIT. It runs under FIXED_PLAN: with statistics taken while the table was small (a backlog
// arrives faster than autovacuum analyzes it), the planner preferred to read every pending delivery
// of the subscription and sort them, 364 ms a claim at 40,000 pending instead of 4 ms. Each candidate's older
// pending siblings (same subscription and account) are looked up in a second partial index: the
// account_id = and IS NULL cases are written apart so both are index conditions.
const CLAIM_SQL = `
  UPDATE webhook_deliveries d SET lease_until = now() + make_interval(secs => ${DELIVERY_LEASE_SECONDS})
    FROM webhook_subscriptions s, webhook_events e
   WHERE d.id IN (
           SELECT d2.id FROM webhook_deliveries d2
             JOIN webhook_subscriptions s2 ON s2.id = d2.subscription_id
            WHERE d2.status = 'PENDING' AND d2.next_attempt_at <= now()
              AND (d2.lease_until IS NULL OR d2.lease_until < now())
              AND s2.status = 'ENABLED' AND s2.deleted_at IS NULL
              -- in order per account: only the oldest pending delivery of a subscription and account
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o
                               WHERE o.subscription_id = d2.subscription_id AND o.status = 'PENDING'
                                 AND o.account_id = d2.account_id AND o.event_seq < d2.event_seq)
              AND (d2.account_id IS NOT NULL
                   OR NOT EXISTS (SELECT 1 FROM webhook_deliveries o
                                   WHERE o.subscription_id = d2.subscription_id AND o.status = 'PENDING'
                                     AND o.account_id IS NULL AND o.event_seq < d2.event_seq))
            ORDER BY d2.next_attempt_at, d2.event_seq
            LIMIT $1
              FOR UPDATE OF d2 SKIP LOCKED)
     AND s.id = d.subscription_id AND e.id = d.event_id
  RETURNING d.id, d.project_id, d.subscription_id, d.event_id, d.attempts, d.created_at,
            s.url, s.version, s.secret, s.previous_secret, s.previous_secret_until, e.body`;

/**
 * The outbox's statements read a handful of rows through partial indexes; with stale statistics the
 * planner may think a sort or a scan of the whole backlog is as cheap. Inside their transactions
 * these settings leave it only the index-ordered plans, whatever the statistics say.
 */
const FIXED_PLAN = 'SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off';

/**
 * Only one fan-out runs at a time, across every replica (a session advisory lock, released with the
 * connection if the process dies). Fan-out goes in seq order, so an account's later event never gets
 * its delivery committed before an earlier one's: concurrent SKIP LOCKED batches could commit out of
 * order, and the claim (which only sees committed deliveries) would then send them out of order.
 */
const FAN_OUT_LOCK_ID = 4_815_162_343;

export type PendingEvent = { id: string; seq: string; project_id: string; account_id: string | null; type: string; created_at: Date };
export type NewDelivery = { id: string; projectId: string; subscriptionId: string; eventId: string; eventSeq: string; accountId: string | null };
export type AttemptOutcome = {
  delivery: ClaimedDelivery;
  attempt: { id: string; startedAt: Date; durationMs: number };
  next: { status: 'PENDING' | 'SUCCEEDED' | 'FAILED'; nextAttemptAt?: Date; statusCode: number | null; error: string | null };
};
type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Records a group of attempts: their log rows, their deliveries' next states, and per subscription
 * the consecutive failures (reset by a success in the group) and, at the threshold, the disabling
 * and its event. The subscriptions are locked first (FOR UPDATE, in id order) so the counts and
 * "was it enabled" are read from their latest committed state, as a transaction that updated them
 * one by one would; only a subscription this statement disables gets the event.
 */
const RECORD_SQL = `
  WITH u AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::int[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])
      AS u(attempt_id, delivery_id, attempt, started_at, duration_ms, code, error, status, next_at)
  ), attempts AS (
    INSERT INTO webhook_attempts (id, delivery_id, attempt, started_at, duration_ms, status_code, error)
    SELECT attempt_id, delivery_id, attempt, started_at, duration_ms, code, error FROM u
  ), deliveries AS (
    UPDATE webhook_deliveries d
       SET status = u.status, attempts = d.attempts + 1, lease_until = NULL, last_status_code = u.code,
           last_error = u.error, next_attempt_at = COALESCE(u.next_at, d.next_attempt_at), updated_at = now()
      FROM u
     WHERE d.id = ANY($2::text[]) AND d.id = u.delivery_id
  ), locked AS (
    SELECT id, project_id, status, consecutive_failures FROM webhook_subscriptions
     WHERE id = ANY($10::text[]) ORDER BY id FOR UPDATE
  ), v AS (
    SELECT l.id, l.project_id, n.after, (l.status = 'ENABLED' AND g.failures > 0 AND n.after >= $13) AS disable
      FROM unnest($10::text[], $11::bool[], $12::int[]) AS g(id, succeeded, failures)
      JOIN locked l ON l.id = g.id
     CROSS JOIN LATERAL (SELECT CASE WHEN g.succeeded THEN g.failures ELSE l.consecutive_failures + g.failures END AS after) n
  ), subs AS (
    UPDATE webhook_subscriptions s
       SET consecutive_failures = v.after,
           status = CASE WHEN v.disable THEN 'DISABLED' ELSE s.status END,
           disabled_reason = CASE WHEN v.disable THEN 'Disabled after ' || v.after || ' consecutive failed deliveries' ELSE s.disabled_reason END,
           updated_at = now()
      FROM v
     WHERE s.id = ANY($10::text[]) AND s.id = v.id
    RETURNING s.id, v.project_id, v.disable
  )
  INSERT INTO webhook_events (id, project_id, account_id, type, snapshot)
  SELECT 'msg_' || gen_random_uuid(), project_id, NULL, $14, jsonb_build_object('id', id, 'status', 'DISABLED', 'reason', $15::text)
    FROM subs WHERE disable`;

/** Events read per statement of the retention walk. */
const PRUNE_BATCH = 2_000;
/**
 * One step of the retention walk: the next `$3` events after seq `$2`, of which those older than `$1`,
 * fanned out and with no pending delivery are deleted. Returns how many went, the last seq read and
 * whether the step saw any event older than `$1` (the walk goes on while it does).
 */
const PRUNE_SQL = `
  WITH step AS (
    SELECT id, seq, created_at, dispatched_at FROM webhook_events WHERE seq > $2::bigint ORDER BY seq LIMIT $3
  ), gone AS (
    DELETE FROM webhook_events e USING step s
     WHERE e.id = s.id AND s.created_at < $1 AND s.dispatched_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = s.id AND d.status = 'PENDING')
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM gone)::int AS dropped, (SELECT max(seq) FROM step)::text AS last,
         (SELECT bool_or(created_at < $1) FROM step) AS any_old`;

export function webhooksRepository(db: Db, pool: pg.Pool) {
  return {
    /** Changes made for a project carry their audit record (`alongside`), written in their transaction. */
    createSubscription: (data: Prisma.WebhookSubscriptionUncheckedCreateInput, alongside: Alongside) =>
      writeWith(db, (tx) => tx.webhookSubscription.create({ data }), () => true, alongside),
    findSubscription: (projectId: string, id: string) => db.webhookSubscription.findFirst({ where: { id, projectId, deletedAt: null } }),
    listSubscriptions: (projectId: string, after: { createdAt: Date; id: string } | undefined, take: number) =>
      db.webhookSubscription.findMany({
        where: {
          projectId,
          deletedAt: null,
          ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take,
      }),
    countSubscriptions: (projectId: string) => db.webhookSubscription.count({ where: { projectId, deletedAt: null } }),
    async updateSubscription(projectId: string, id: string, data: Prisma.WebhookSubscriptionUpdateManyMutationInput, alongside: Alongside) {
      const r = await writeWith(db, (tx) => tx.webhookSubscription.updateMany({ where: { id, projectId, deletedAt: null }, data }), (r) => r.count === 1, alongside);
      return r.count === 1;
    },

    /**
     * Runs fn holding the fan-out lock, on the connection that holds it; null (without running fn)
     * when another worker is fanning out right now.
     */
    async withFanOutLock<T>(fn: (q: Queryable) => Promise<T>): Promise<T | null> {
      const client = await pool.connect();
      let healthy = false;
      try {
        const got = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [FAN_OUT_LOCK_ID])).rows[0]!.ok;
        if (!got) {
          healthy = true;
          return null;
        }
        const result = await fn(client);
        await client.query('SELECT pg_advisory_unlock($1)', [FAN_OUT_LOCK_ID]);
        healthy = true;
        return result;
      } finally {
        // A connection that failed midway may still hold the lock (or a transaction): drop it.
        client.release(!healthy);
      }
    },

    /** Events not yet fanned out, oldest first, without their snapshots (most need none). */
    async pendingEvents(q: Queryable, take: number) {
      const sql = `SELECT id, seq, project_id, account_id, type, created_at FROM webhook_events
                    WHERE dispatched_at IS NULL ORDER BY seq LIMIT $1`;
      return (await q.query<PendingEvent>(sql, [take])).rows;
    },
    async liveSubscriptionsOf(q: Queryable, projectIds: string[]) {
      const sql = `SELECT id, project_id, enabled_events FROM webhook_subscriptions
                    WHERE project_id = ANY($1::text[]) AND status = 'ENABLED' AND deleted_at IS NULL`;
      return (await q.query<{ id: string; project_id: string; enabled_events: string[] }>(sql, [projectIds])).rows;
    },
    async snapshots(q: Queryable, eventIds: string[]) {
      if (!eventIds.length) return new Map<string, unknown>();
      const { rows } = await q.query<{ id: string; snapshot: unknown }>('SELECT id, snapshot FROM webhook_events WHERE id = ANY($1::text[])', [eventIds]);
      return new Map(rows.map((r) => [r.id, r.snapshot]));
    },

    /**
     * Marks a batch of events fanned out (with the envelope of those that have deliveries) and
     * creates their deliveries, in one statement (atomic on its own: no transaction round trips).
     * Only events still pending are marked, and only their deliveries are created, so a batch raced
     * by another worker adds nothing twice. Returns how many deliveries it created.
     */
    async markFannedOut(q: Queryable, events: { id: string; body: string | null }[], deliveries: NewDelivery[]) {
      const { rows } = await q.query<{ n: number }>(
        `WITH marked AS (
           UPDATE webhook_events e SET dispatched_at = now(), body = u.body
             FROM unnest($1::text[], $2::text[]) AS u(id, body)
            WHERE e.id = ANY($1::text[]) AND e.id = u.id AND e.dispatched_at IS NULL
           RETURNING e.id
         ), made AS (
           INSERT INTO webhook_deliveries (id, project_id, subscription_id, event_id, event_seq, account_id, updated_at)
           SELECT d.id, d.project_id, d.subscription_id, d.event_id, d.event_seq, d.account_id, now()
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
                    AS d(id, project_id, subscription_id, event_id, event_seq, account_id)
            WHERE d.event_id IN (SELECT id FROM marked)
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM made`,
        [
          events.map((e) => e.id),
          events.map((e) => e.body),
          deliveries.map((d) => d.id),
          deliveries.map((d) => d.projectId),
          deliveries.map((d) => d.subscriptionId),
          deliveries.map((d) => d.eventId),
          deliveries.map((d) => d.eventSeq),
          deliveries.map((d) => d.accountId),
        ],
      );
      return rows[0]!.n;
    },

    async claimDue(limit: number): Promise<ClaimedDelivery[]> {
      const client = await pool.connect();
      let healthy = false;
      try {
        await client.query(`BEGIN; ${FIXED_PLAN}`);
        // Unnamed, so planned with its parameter each time: a prepared statement's generic plan, made
        // while the table was small, scanned every pending delivery per candidate (3 s a claim).
        const { rows } = await client.query<ClaimedDelivery>(CLAIM_SQL, [limit]);
        await client.query('COMMIT');
        healthy = true;
        return rows;
      } catch (err) {
        await client.query('ROLLBACK').then(() => (healthy = true), () => {});
        throw err;
      } finally {
        client.release(!healthy);
      }
    },

    /**
     * The outcomes of several attempts (in the order they finished), the deliveries' next states,
     * their subscriptions' failure counts, and the disabling of a subscription that reached
     * `disableAfter` consecutive failures (with its event), in one statement (RECORD_SQL): atomic
     * without a transaction of its own, one round trip per group of attempts instead of five. A
     * subscription's consecutive failures are those after its last success, as if recorded one by one.
     */
    async recordAttempts(outcomes: AttemptOutcome[], o: { disableAfter: number; disabledEvent: { type: string; reason: string } }) {
      const perSub = new Map<string, { succeeded: boolean; failures: number }>();
      for (const x of outcomes) {
        const s = perSub.get(x.delivery.subscription_id) ?? { succeeded: false, failures: 0 };
        if (x.next.status === 'SUCCEEDED') Object.assign(s, { succeeded: true, failures: 0 });
        else s.failures++;
        perSub.set(x.delivery.subscription_id, s);
      }
      const col = <T>(f: (x: AttemptOutcome) => T) => outcomes.map(f);
      const subs = [...perSub];
      await pool.query(RECORD_SQL, [
        col((x) => x.attempt.id),
        col((x) => x.delivery.id),
        col((x) => x.delivery.attempts + 1),
        col((x) => x.attempt.startedAt),
        col((x) => x.attempt.durationMs),
        col((x) => x.next.statusCode),
        col((x) => x.next.error),
        col((x) => x.next.status),
        col((x) => x.next.nextAttemptAt ?? null),
        subs.map(([id]) => id),
        subs.map(([, s]) => s.succeeded),
        subs.map(([, s]) => s.failures),
        o.disableAfter,
        o.disabledEvent.type,
        o.disabledEvent.reason,
      ]);
    },

    deliveries: (projectId: string, subscriptionId: string, take: number) =>
      db.webhookDelivery.findMany({
        where: { projectId, subscriptionId },
        orderBy: { createdAt: 'desc' },
        take,
        include: { log: { orderBy: { attempt: 'asc' } }, event: { select: { type: true } } },
      }),
    findDelivery: (projectId: string, subscriptionId: string, id: string) =>
      db.webhookDelivery.findFirst({ where: { id, projectId, subscriptionId } }),
    createDelivery: (data: Prisma.WebhookDeliveryUncheckedCreateInput, alongside: Alongside) =>
      writeWith(db, (tx) => tx.webhookDelivery.create({ data }), () => true, alongside),
    /**
     * Drops fanned-out events older than `olderThan` that have no pending delivery (their deliveries
     * and attempts go with them, by cascade), walking the outbox oldest first along seq, `batch` rows
     * a statement, until a batch holds no event that old. Events are written in time order, so the
     * walk reads little more than what it drops: a run with nothing to drop reads one batch where a
     * filter on created_at read the whole table (185-279 ms at 1,000,000 events; bench/README.md).
     * Returns how many events it dropped.
     */
    async prune(olderThan: Date, batch = PRUNE_BATCH): Promise<number> {
      let after = '0';
      let dropped = 0;
      for (;;) {
        const { rows } = await pool.query<{ dropped: number; last: string | null; any_old: boolean | null }>(PRUNE_SQL, [olderThan, after, batch]);
        const r = rows[0]!;
        dropped += r.dropped;
        if (!r.any_old || r.last === null) return dropped;
        after = r.last;
      }
    },
  };
}
export type WebhooksRepository = ReturnType<typeof webhooksRepository>;
