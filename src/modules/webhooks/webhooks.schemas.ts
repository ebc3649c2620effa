/** Wire shapes of /webhook_subscriptions (Composio's shape, §6). */
import { z } from 'zod';
import { cursorParam, limitParam, listEnvelope } from '../../lib/schemas.js';
import { idPattern } from '../../lib/ids.js';

export const EVENT_TYPES = [
  ['composio.connected_account.created', 'A connected account was created (any status).'],
  ['composio.connected_account.activated', 'A connected account became ACTIVE for the first time.'],
  ['composio.connected_account.failed', 'A connection attempt failed (denied, token exchange failed, or abandoned).'],
  ['composio.connected_account.expired', 'Credentials died: a permanent error during token refresh. Re-authorise the account.'],
  ['composio.connected_account.refresh_failed', 'Token refresh failed transiently three times in a row; the account still works while its token is valid.'],
  ['composio.connected_account.reauthorized', 'A connected account became ACTIVE again after a new consent (same id).'],
  ['composio.connected_account.revoked', 'The credentials were revoked at the provider.'],
  ['composio.connected_account.disabled', 'The account was disabled (INACTIVE).'],
  ['composio.connected_account.enabled', 'The account was enabled again (ACTIVE).'],
  ['composio.connected_account.deleted', 'The account was deleted.'],
  ['composio.webhook_subscription.disabled', 'A webhook subscription was disabled after repeated failed deliveries.'],
  // Composio's trigger events: accepted so that subscriptions made by its SDKs (whose default is
  // composio.trigger.message) succeed, but Latchkey has no triggers, so these never fire.
  ['composio.trigger.message', 'A trigger fired (Composio). Latchkey has no triggers: accepted, never sent.'],
  ['composio.trigger.disabled', 'A trigger was disabled (Composio). Latchkey has no triggers: accepted, never sent.'],
] as const;
export const EVENT_TYPE_NAMES = EVENT_TYPES.map(([t]) => t) as unknown as readonly [string, ...string[]];

export const SubscriptionId = z.string().max(64).regex(idPattern('webhookSubscription'), 'not a webhook subscription id');
export const SubscriptionParams = z.object({ id: SubscriptionId });
export const DeliveryParams = z.object({ id: SubscriptionId, deliveryId: z.string().max(64).regex(idPattern('webhookDelivery'), 'not a delivery id') });

const EventList = z.array(z.enum(EVENT_TYPE_NAMES)).min(1).max(EVENT_TYPES.length);

export const CreateSubscriptionBody = z.object({
  webhook_url: z.string().max(2000),
  enabled_events: EventList,
  version: z.enum(['V3']).default('V3'),
});
export const UpdateSubscriptionBody = z.object({
  webhook_url: z.string().max(2000).optional(),
  enabled_events: EventList.optional(),
  version: z.enum(['V3']).optional(),
  /** Latchkey extension: re-enable a subscription that was disabled (or disable one). */
  enabled: z.boolean().optional(),
});

export const SubscriptionObject = z.object({
  id: z.string(),
  webhook_url: z.string(),
  enabled_events: z.array(z.string()),
  version: z.string(),
  status: z.enum(['ENABLED', 'DISABLED']),
  disabled_reason: z.string().nullable(),
  consecutive_failures: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
/** Only creation and rotation return the secret; it is never shown again. */
export const SubscriptionWithSecret = SubscriptionObject.extend({ secret: z.string() });
export const SubscriptionList = listEnvelope(SubscriptionObject);
export const ListQuery = z.object({ limit: limitParam(100, 20), cursor: cursorParam.optional() });

export const RotateResponse = z.object({ id: z.string(), secret: z.string(), previous_secret_expires_at: z.string() });
export const EventTypesResponse = z.object({
  items: z.array(z.object({ event_type: z.string(), description: z.string(), supported_versions: z.array(z.string()) })),
});

export const DeliveryObject = z.object({
  id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  status: z.enum(['PENDING', 'SUCCEEDED', 'FAILED']),
  attempts: z.array(z.object({ attempt: z.number().int(), at: z.string(), duration_ms: z.number().int(), status_code: z.number().int().nullable(), error: z.string().nullable() })),
  next_attempt_at: z.string().nullable(),
  created_at: z.string(),
});
export const DeliveryList = z.object({ items: z.array(DeliveryObject) });
export const DeliveriesQuery = z.object({ limit: limitParam(200, 50) });
export const RedeliverResponse = z.object({ id: z.string(), event_id: z.string(), status: z.literal('PENDING') });
export const DeletedResponse = z.object({ success: z.boolean() });
