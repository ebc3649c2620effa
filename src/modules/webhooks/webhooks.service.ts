/**
 * Webhook subscriptions: Composio's shape, a secret shown once and stored sealed, rotation with a
 * grace period during which the old secret signs alongside the new one, a delivery log, and
 * redelivery (same webhook-id, so receivers can de-duplicate).
 */
import { z } from 'zod';
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId, newOrderedId } from '../../lib/ids.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import { newWebhookSecret } from './signing.js';
import type { WebhooksRepository } from './webhooks.repository.js';
import { EVENT_TYPES } from './webhooks.schemas.js';
import { associatedData } from '../../lib/sealed.js';
import type { Tx } from '../../db/transaction.js';
import type { AuditEntry } from '../audit/audit.repository.js';
import type { AuditService } from '../audit/audit.service.js';

type SubscriptionRow = NonNullable<Awaited<ReturnType<WebhooksRepository['findSubscription']>>>;
const CursorShape = z.object({ c: z.iso.datetime(), i: z.string().max(64), p: z.number().int().min(1), t: z.number().int().min(0) });

export function webhooksService(deps: {
  repo: WebhooksRepository;
  crypto: Pick<Crypto, 'seal'>;
  /** The egress guard's save-time check (webhook deliveries go through the same guard). */
  urlProblem: (url: string) => string | undefined;
  settings: { rotationGraceMs: number };
  audit: Pick<AuditService, 'record'>;
}) {
  const { repo, crypto, settings } = deps;
  /** The change's audit record, written in the change's own transaction (never the URL or the signing secret). */
  const recording = (entry: AuditEntry) => (tx: Tx) => deps.audit.record(tx, entry);
  const aad = (projectId: string, id: string) => associatedData('webhookSecret', projectId, id);

  const view = (s: SubscriptionRow) => ({
    id: s.id,
    webhook_url: s.url,
    enabled_events: s.enabledEvents,
    version: s.version,
    status: s.status as 'ENABLED' | 'DISABLED',
    disabled_reason: s.disabledReason,
    consecutive_failures: s.consecutiveFailures,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  });

  function checkUrl(url: string) {
    const problem = deps.urlProblem(url);
    if (problem) throw new AppError('Request_ValidationError', `webhook_url ${problem}`, { suggestedFix: 'Use a public https URL' });
  }

  async function findOrThrow(projectId: string, id: string) {
    const s = await repo.findSubscription(projectId, id);
    if (!s) throw new AppError('Route_NotFound', `Webhook subscription ${id} not found`);
    return s;
  }

  return {
    eventTypes: () => ({ items: EVENT_TYPES.map(([event_type, description]) => ({ event_type, description, supported_versions: ['V3'] })) }),

    async create(projectId: string, body: { webhook_url: string; enabled_events: string[]; version: string }) {
      checkUrl(body.webhook_url);
      const id = newId('webhookSubscription');
      const secret = newWebhookSecret();
      const row = await repo.createSubscription({
        id,
        projectId,
        url: body.webhook_url,
        enabledEvents: [...new Set(body.enabled_events)],
        version: body.version,
        secret: crypto.seal(secret, aad(projectId, id)),
      }, recording({ projectId, action: 'webhook_subscription.create', objectId: id, detail: { events: body.enabled_events.length } }));
      return { ...view(row), secret };
    },

    async list(projectId: string, q: { limit: number; cursor?: string }) {
      const cur = q.cursor ? decodeCursor(q.cursor, CursorShape) : undefined;
      const rows = await repo.listSubscriptions(projectId, cur && { createdAt: new Date(cur.c), id: cur.i }, q.limit + 1);
      const total = cur ? cur.t : await repo.countSubscriptions(projectId);
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      const current = cur?.p ?? 1;
      return {
        items: page.map(view),
        next_cursor: rows.length > q.limit && last ? encodeCursor({ c: last.createdAt.toISOString(), i: last.id, p: current + 1, t: total }) : null,
        total_items: total,
        total_pages: Math.max(1, Math.ceil(total / q.limit)),
        current_page: current,
      };
    },

    get: async (projectId: string, id: string) => view(await findOrThrow(projectId, id)),

    async update(projectId: string, id: string, body: { webhook_url?: string; enabled_events?: string[]; version?: string; enabled?: boolean }) {
      await findOrThrow(projectId, id);
      if (body.webhook_url !== undefined) checkUrl(body.webhook_url);
      await repo.updateSubscription(projectId, id, {
        ...(body.webhook_url !== undefined ? { url: body.webhook_url } : {}),
        ...(body.enabled_events ? { enabledEvents: [...new Set(body.enabled_events)] } : {}),
        ...(body.version ? { version: body.version } : {}),
        ...(body.enabled === true ? { status: 'ENABLED', disabledReason: null, consecutiveFailures: 0 } : {}),
        ...(body.enabled === false ? { status: 'DISABLED', disabledReason: 'Disabled by the project' } : {}),
      }, recording({ projectId, action: 'webhook_subscription.update', objectId: id, detail: { fields: Object.keys(body).sort() } }));
      return view(await findOrThrow(projectId, id));
    },

    async remove(projectId: string, id: string) {
      if (!(await repo.updateSubscription(projectId, id, { deletedAt: new Date(), status: 'DISABLED' }, recording({ projectId, action: 'webhook_subscription.delete', objectId: id })))) {
        throw new AppError('Route_NotFound', `Webhook subscription ${id} not found`);
      }
      return { success: true };
    },

    /** A new secret, shown once; the old one keeps signing (alongside) for the grace period. */
    async rotateSecret(projectId: string, id: string) {
      const s = await findOrThrow(projectId, id);
      const secret = newWebhookSecret();
      const until = new Date(Date.now() + settings.rotationGraceMs);
      await repo.updateSubscription(
        projectId,
        id,
        { secret: crypto.seal(secret, aad(projectId, id)), previousSecret: s.secret, previousSecretUntil: until },
        recording({ projectId, action: 'webhook_subscription.rotate_secret', objectId: id }),
      );
      return { id, secret, previous_secret_expires_at: until.toISOString() };
    },

    async deliveries(projectId: string, id: string, limit: number) {
      await findOrThrow(projectId, id);
      const rows = await repo.deliveries(projectId, id, limit);
      return {
        items: rows.map((d) => ({
          id: d.id,
          event_id: d.eventId,
          event_type: d.event.type,
          status: d.status as 'PENDING' | 'SUCCEEDED' | 'FAILED',
          attempts: d.log.map((a) => ({ attempt: a.attempt, at: a.startedAt.toISOString(), duration_ms: a.durationMs, status_code: a.statusCode, error: a.error })),
          next_attempt_at: d.status === 'PENDING' ? d.nextAttemptAt.toISOString() : null,
          created_at: d.createdAt.toISOString(),
        })),
      };
    },

    /** Sends an event again: a new delivery with the same webhook-id. */
    async redeliver(projectId: string, id: string, deliveryId: string) {
      await findOrThrow(projectId, id);
      const d = await repo.findDelivery(projectId, id, deliveryId);
      if (!d) throw new AppError('Route_NotFound', `Delivery ${deliveryId} not found`);
      const copy = await repo.createDelivery({
        id: newOrderedId('webhookDelivery'),
        projectId,
        subscriptionId: id,
        eventId: d.eventId,
        eventSeq: d.eventSeq,
        accountId: d.accountId,
      }, recording({ projectId, action: 'webhook_subscription.redeliver', objectId: id, detail: { delivery_id: deliveryId } }));
      return { id: copy.id, event_id: copy.eventId, status: 'PENDING' as const };
    },
  };
}
export type WebhooksService = ReturnType<typeof webhooksService>;
