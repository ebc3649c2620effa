/**
 * Prisma and SQL for webhooks: subscriptions (scoped by project), the outbox's fan-out, claiming due
 * deliveries (oldest event first, never two in flight for one subscription and account), and the
 * attempt log. No network call happens inside any transaction here.
 */
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';

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
                                 AND o.account_id IS NOT DISTINCT FROM d2.account_id AND o.event_seq < d2.event_seq)
            ORDER BY d2.event_seq
            LIMIT $1
              FOR UPDATE OF d2 SKIP LOCKED)
     AND s.id = d.subscription_id AND e.id = d.event_id
  RETURNING d.id, d.project_id, d.subscription_id, d.event_id, d.attempts, d.created_at,
            s.url, s.version, s.secret, s.previous_secret, s.previous_secret_until, e.body`;

export function webhooksRepository(db: Db, pool: pg.Pool) {
  return {
    createSubscription: (data: Prisma.WebhookSubscriptionUncheckedCreateInput) => db.webhookSubscription.create({ data }),
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
    async updateSubscription(projectId: string, id: string, data: Prisma.WebhookSubscriptionUpdateManyMutationInput) {
      return (await db.webhookSubscription.updateMany({ where: { id, projectId, deletedAt: null }, data })).count === 1;
    },

    /** Events not yet fanned out, oldest first. */
    pendingEvents: (take: number) => db.webhookEvent.findMany({ where: { dispatchedAt: null }, orderBy: { seq: 'asc' }, take }),
    liveSubscriptions: (projectId: string) => db.webhookSubscription.findMany({ where: { projectId, status: 'ENABLED', deletedAt: null } }),

    /** Records the envelope and the deliveries of one event, once (another worker may have raced us). */
    async fanOut(eventId: string, body: string, deliveries: Prisma.WebhookDeliveryCreateManyInput[]) {
      return db.$transaction(async (tx) => {
        const claimed = await tx.webhookEvent.updateMany({ where: { id: eventId, dispatchedAt: null }, data: { dispatchedAt: new Date(), body } });
        if (claimed.count !== 1) return false;
        if (deliveries.length) await tx.webhookDelivery.createMany({ data: deliveries });
        return true;
      });
    },

    async claimDue(limit: number): Promise<ClaimedDelivery[]> {
      return (await pool.query<ClaimedDelivery>(CLAIM_SQL, [limit])).rows;
    },

    /** The outcome of one attempt, the delivery's next state and the subscription's failure count, together. */
    async recordAttempt(a: {
      delivery: ClaimedDelivery;
      attempt: Prisma.WebhookAttemptUncheckedCreateInput;
      next: { status: 'PENDING' | 'SUCCEEDED' | 'FAILED'; nextAttemptAt?: Date; statusCode: number | null; error: string | null };
      succeeded: boolean;
      disableAfter: number;
      disabledEvent: (subscriptionId: string) => Prisma.WebhookEventUncheckedCreateInput;
    }) {
      await db.$transaction(async (tx) => {
        await tx.webhookAttempt.create({ data: a.attempt });
        await tx.webhookDelivery.update({
          where: { id: a.delivery.id },
          data: {
            status: a.next.status,
            attempts: { increment: 1 },
            leaseUntil: null,
            lastStatusCode: a.next.statusCode,
            lastError: a.next.error,
            ...(a.next.nextAttemptAt ? { nextAttemptAt: a.next.nextAttemptAt } : {}),
          },
        });
        if (a.succeeded) {
          await tx.webhookSubscription.update({ where: { id: a.delivery.subscription_id }, data: { consecutiveFailures: 0 } });
          return;
        }
        const sub = await tx.webhookSubscription.update({
          where: { id: a.delivery.subscription_id },
          data: { consecutiveFailures: { increment: 1 } },
        });
        if (sub.status === 'ENABLED' && sub.consecutiveFailures >= a.disableAfter) {
          await tx.webhookSubscription.update({
            where: { id: sub.id },
            data: { status: 'DISABLED', disabledReason: `Disabled after ${sub.consecutiveFailures} consecutive failed deliveries` },
          });
          await tx.webhookEvent.create({ data: a.disabledEvent(sub.id) });
        }
      });
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
    createDelivery: (data: Prisma.WebhookDeliveryUncheckedCreateInput) => db.webhookDelivery.create({ data }),
    /** Old, fanned-out events and finished deliveries are kept for a while, then dropped. */
    async prune(olderThan: Date) {
      await db.webhookEvent.deleteMany({ where: { createdAt: { lt: olderThan }, dispatchedAt: { not: null }, deliveries: { none: { status: 'PENDING' } } } });
    },
  };
}
export type WebhooksRepository = ReturnType<typeof webhooksRepository>;
