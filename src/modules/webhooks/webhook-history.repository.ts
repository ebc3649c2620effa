/**
 * Read-only views of the outbox for operators (the console): one account's events, deliveries by
 * subscription or account with keyset paging, and the backlog. The tables are written only by
 * webhooks.repository.ts and the outbox trigger.
 */
import type { Db } from '../../db/prisma.js';

export type Keyset = { at: Date; id: string };

export function webhookHistoryRepository(db: Db) {
  return {
    /** An account's events, newest first: what happened to it and the status it left (while events are kept). */
    async accountEvents(projectId: string, accountId: string, take: number, before?: bigint) {
      const rows = await db.webhookEvent.findMany({
        where: { projectId, accountId, ...(before !== undefined ? { seq: { lt: before } } : {}) },
        orderBy: { seq: 'desc' },
        take,
        select: { id: true, seq: true, type: true, createdAt: true, dispatchedAt: true, snapshot: true },
      });
      return rows.map((r) => {
        const snap = (r.snapshot ?? {}) as { status?: unknown; status_reason?: unknown };
        return {
          id: r.id,
          seq: r.seq,
          type: r.type,
          createdAt: r.createdAt,
          dispatchedAt: r.dispatchedAt,
          status: typeof snap.status === 'string' ? snap.status : null,
          statusReason: typeof snap.status_reason === 'string' ? snap.status_reason : null,
        };
      });
    },

    /** Deliveries of a project, by subscription or by account, newest first, after a keyset position. */
    deliveries(projectId: string, by: { subscriptionId?: string; accountId?: string }, take: number, before?: Keyset) {
      return db.webhookDelivery.findMany({
        where: {
          projectId,
          ...by,
          ...(before ? { OR: [{ createdAt: { lt: before.at } }, { createdAt: before.at, id: { lt: before.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take,
        include: { log: { orderBy: { attempt: 'asc' } }, event: { select: { type: true } }, subscription: { select: { url: true } } },
      });
    },

    /** How far behind delivery is: undispatched events and pending deliveries, with the oldest of each. */
    async backlog() {
      const [events, deliveries] = await Promise.all([
        db.webhookEvent.aggregate({ where: { dispatchedAt: null }, _count: { _all: true }, _min: { createdAt: true } }),
        db.webhookDelivery.aggregate({ where: { status: 'PENDING' }, _count: { _all: true }, _min: { nextAttemptAt: true, createdAt: true } }),
      ]);
      return {
        pendingEvents: events._count._all,
        oldestPendingEventAt: events._min.createdAt,
        pendingDeliveries: deliveries._count._all,
        oldestPendingDeliveryAt: deliveries._min.createdAt,
        nextDeliveryDueAt: deliveries._min.nextAttemptAt,
      };
    },
  };
}
export type WebhookHistoryRepository = ReturnType<typeof webhookHistoryRepository>;
