/** /webhook_subscriptions: subscriptions, secret rotation, event types, the delivery log, redelivery. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../../app.js';
import { callerOf } from '../../plugins/auth.js';
import {
  CreateSubscriptionBody,
  DeletedResponse,
  DeliveriesQuery,
  DeliveryList,
  DeliveryParams,
  EventTypesResponse,
  ListQuery,
  RedeliverResponse,
  RotateResponse,
  SubscriptionList,
  SubscriptionObject,
  SubscriptionParams,
  SubscriptionWithSecret,
  UpdateSubscriptionBody,
} from './webhooks.schemas.js';

export const webhooksRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  const { webhooks } = services;
  const tags = ['Webhooks'];
  const p = (req: Parameters<typeof callerOf>[0]) => callerOf(req).projectId;

  app.post('/webhook_subscriptions', {
    schema: {
      operationId: 'createWebhookSubscription',
      summary: 'Create a webhook subscription',
      tags,
      description: 'Subscribes a URL to connected-account events. The signing secret is in this response only.',
      body: CreateSubscriptionBody,
      response: { 201: SubscriptionWithSecret },
    },
    config: { rateLimit: limits.sensitive },
    handler: async (req, reply) => reply.code(201).send(await webhooks.create(p(req), req.body)),
  });
  app.get('/webhook_subscriptions', {
    schema: { operationId: 'listWebhookSubscriptions', summary: 'List webhook subscriptions', tags, querystring: ListQuery, response: { 200: SubscriptionList } },
    config: { rateLimit: limits.read },
    handler: async (req) => webhooks.list(p(req), req.query),
  });
  app.get('/webhook_subscriptions/event_types', {
    schema: { operationId: 'listWebhookEventTypes', summary: 'List webhook event types', tags, response: { 200: EventTypesResponse } },
    config: { rateLimit: limits.read },
    handler: async () => webhooks.eventTypes(),
  });
  app.get('/webhook_subscriptions/:id', {
    schema: { operationId: 'getWebhookSubscription', summary: 'Get a webhook subscription', tags, params: SubscriptionParams, response: { 200: SubscriptionObject } },
    config: { rateLimit: limits.read },
    handler: async (req) => webhooks.get(p(req), req.params.id),
  });
  app.patch('/webhook_subscriptions/:id', {
    schema: { operationId: 'updateWebhookSubscription', summary: 'Update a webhook subscription', tags, params: SubscriptionParams, body: UpdateSubscriptionBody, response: { 200: SubscriptionObject } },
    config: { rateLimit: limits.write },
    handler: async (req) => webhooks.update(p(req), req.params.id, req.body),
  });
  app.delete('/webhook_subscriptions/:id', {
    schema: { operationId: 'deleteWebhookSubscription', summary: 'Delete a webhook subscription', tags, params: SubscriptionParams, response: { 200: DeletedResponse } },
    config: { rateLimit: limits.write },
    handler: async (req) => webhooks.remove(p(req), req.params.id),
  });
  app.post('/webhook_subscriptions/:id/rotate_secret', {
    schema: {
      operationId: 'rotateWebhookSecret',
      summary: "Rotate a webhook subscription's secret",
      tags,
      description: 'A new secret, shown once. The previous one keeps signing alongside it for the grace period (WEBHOOK_SECRET_GRACE_MS).',
      params: SubscriptionParams,
      response: { 200: RotateResponse },
    },
    config: { rateLimit: limits.sensitive },
    handler: async (req) => webhooks.rotateSecret(p(req), req.params.id),
  });
  app.get('/webhook_subscriptions/:id/deliveries', {
    schema: { operationId: 'listWebhookDeliveries', summary: "List a webhook subscription's deliveries", tags, params: SubscriptionParams, querystring: DeliveriesQuery, response: { 200: DeliveryList } },
    config: { rateLimit: limits.read },
    handler: async (req) => webhooks.deliveries(p(req), req.params.id, req.query.limit),
  });
  app.post('/webhook_subscriptions/:id/deliveries/:deliveryId/redeliver', {
    schema: { operationId: 'redeliverWebhook', summary: 'Redeliver a webhook delivery', tags, params: DeliveryParams, response: { 201: RedeliverResponse } },
    config: { rateLimit: limits.write },
    handler: async (req, reply) => reply.code(201).send(await webhooks.redeliver(p(req), req.params.id, req.params.deliveryId)),
  });
};
