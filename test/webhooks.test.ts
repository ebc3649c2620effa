/**
 * Webhooks end to end: subscriptions over the API, the transactional outbox (a trigger on
 * connected_accounts), the dispatcher's fan-out, signing (checked with the official Composio SDK),
 * retries with backoff, redelivery, secret rotation, per-account ordering, automatic disabling, and
 * the pg-boss job that runs it all. Deliveries go to a real HTTP receiver on a loopback port; the
 * dispatcher is driven by hand (`runOnce`) so every step is deterministic, and backoff is skipped by
 * moving `next_attempt_at` to now rather than by sleeping.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Composio } from '@composio/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createDatabase } from '../src/db/prisma.js';
import { startJobs, type Jobs } from '../src/jobs/queue.js';
import { createCrypto } from '../src/lib/crypto.js';
import { createEgress } from '../src/modules/egress/egress.js';
import { ORGANIZATION_ID, SUBSCRIPTION_DISABLED, backoffMs, webhookDispatcher } from '../src/modules/webhooks/dispatcher.js';
import { webhooksRepository } from '../src/modules/webhooks/webhooks.repository.js';
import { EVENT_TYPES } from '../src/modules/webhooks/webhooks.schemas.js';
import { TEST_CONFIG, TEST_SECRETS, type TestContext, createTestContext } from './support/context.js';
import { type Received, type Receiver, startReceiver } from './support/webhook-receiver.js';

const V = '/api/v3.1';
const MASK = '********';
const CA = (kind: string) => `composio.connected_account.${kind}`;
const ALL_ACCOUNT_EVENTS = ['created', 'activated', 'failed', 'expired', 'refresh_failed', 'reauthorized', 'revoked', 'disabled', 'enabled', 'deleted'].map(CA);
const MSG_ID = /^msg_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE_CONFIG = { WEBHOOKS_ALLOW_PRIVATE_URLS: true, WEBHOOK_TIMEOUT_MS: 1000 };

/** Main context: loopback URLs allowed, 1 s timeout, default disabling threshold and grace period. */
let ctx: TestContext;
/** Disables after 3 failures; rotation grace 0; a 5 s timeout (for slow receivers under the job runner). */
let strictCtx: TestContext;
/** Private URLs refused (the production default). */
let guarded: TestContext;
let composio: Composio;
const receivers: Receiver[] = [];

beforeAll(async () => {
  [ctx, strictCtx, guarded] = await Promise.all([
    createTestContext({ config: BASE_CONFIG }),
    createTestContext({ config: { ...BASE_CONFIG, WEBHOOK_DISABLE_AFTER_FAILURES: 3, WEBHOOK_SECRET_GRACE_MS: 0, WEBHOOK_TIMEOUT_MS: 5000 } }),
    createTestContext({ config: { WEBHOOKS_ALLOW_PRIVATE_URLS: false, WEBHOOK_TIMEOUT_MS: 1000 } }),
  ]);
  composio = new Composio({ apiKey: 'x', baseURL: 'http://127.0.0.1:1', allowTracking: false, disableVersionCheck: true });
});

// Each test works in its own project; retiring every subscription afterwards keeps one test's
// pending retries from being attempted during the next one.
afterEach(async () => {
  for (const c of [ctx, strictCtx, guarded]) {
    await c?.db.webhookSubscription.updateMany({ where: { deletedAt: null }, data: { deletedAt: new Date(), status: 'DISABLED' } });
  }
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await Promise.all([ctx, strictCtx, guarded].map((c) => c?.close()));
});

// ---- helpers ------------------------------------------------------------------------------------

async function receiver() {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

type Tenant = Awaited<ReturnType<typeof tenant>>;

/** A fresh project with a linear API_KEY auth config, and request helpers bound to its key. */
async function tenant(c: TestContext = ctx) {
  const p = await c.newProject();
  const api = {
    get: (path: string) => c.http.get(V + path).set('x-api-key', p.apiKey),
    post: (path: string, body?: object) => {
      const req = c.http.post(V + path).set('x-api-key', p.apiKey);
      return body ? req.send(body) : req;
    },
    patch: (path: string, body: object) => c.http.patch(V + path).set('x-api-key', p.apiKey).send(body),
    del: (path: string) => c.http.delete(V + path).set('x-api-key', p.apiKey),
  };
  const cfg = await api
    .post('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } })
    .expect(201);
  return { ...p, c, api, cfgId: cfg.body.auth_config.id as string };
}

async function createAccount(t: Tenant, apiKey = `lin_api_${randomBytes(8).toString('hex')}`) {
  const res = await t.api
    .post('/connected_accounts', { auth_config: { id: t.cfgId }, connection: { user_id: 'alice', state: { authScheme: 'API_KEY', val: { api_key: apiKey } } } })
    .expect(201);
  return res.body.id as string;
}
const setEnabled = (t: Tenant, id: string, enabled: boolean) => t.api.patch(`/connected_accounts/${id}/status`, { enabled }).expect(200);
const deleteAccount = (t: Tenant, id: string) => t.api.del(`/connected_accounts/${id}`).expect(200);

type Subscription = { id: string; secret: string; webhook_url: string; enabled_events: string[]; status: string };
async function subscribe(t: Tenant, url: string, events: string[]): Promise<Subscription> {
  return (await t.api.post('/webhook_subscriptions', { webhook_url: url, enabled_events: events }).expect(201)).body as Subscription;
}

type DeliveryView = {
  id: string;
  event_id: string;
  event_type: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  attempts: { attempt: number; at: string; duration_ms: number; status_code: number | null; error: string | null }[];
  next_attempt_at: string | null;
  created_at: string;
};
async function deliveries(t: Tenant, subId: string): Promise<DeliveryView[]> {
  return (await t.api.get(`/webhook_subscriptions/${subId}/deliveries`).expect(200)).body.items as DeliveryView[];
}

const runOnce = (c: TestContext = ctx) => c.app.services.webhookDelivery.runOnce();

/** Runs the dispatcher until a pass finds nothing to fan out or deliver. */
async function drain(c: TestContext = ctx) {
  for (let i = 0; i < 50; i++) {
    const r = await runOnce(c);
    if (!r.fannedOut && !r.delivered) return;
  }
  throw new Error('the dispatcher never settled');
}

/** Skips the backoff: every pending delivery of the subscription becomes due now. */
async function makeDue(c: TestContext, subscriptionId: string) {
  await c.db.webhookDelivery.updateMany({ where: { subscriptionId, status: 'PENDING' }, data: { nextAttemptAt: new Date(Date.now() - 1000) } });
}

const header = (r: Received, name: string) => {
  const v = r.headers[name];
  if (typeof v !== 'string') throw new Error(`header ${name} missing`);
  return v;
};

/** The official SDK's verifier, fed the raw body and the three Standard-Webhooks headers. */
const verify = (r: Received, secret: string) =>
  composio.triggers.verifyWebhook({
    payload: r.body,
    signature: header(r, 'webhook-signature'),
    secret,
    id: header(r, 'webhook-id'),
    timestamp: header(r, 'webhook-timestamp'),
  });

/** The signature a secret makes over a received request, computed independently. */
const hmac = (secret: string, r: Received) =>
  `v1,${createHmac('sha256', secret).update(`${header(r, 'webhook-id')}.${header(r, 'webhook-timestamp')}.${r.body}`).digest('base64')}`;

const typesOf = (r: Receiver) => r.bodies().map((b) => b.type);

// ---- 1. the API ---------------------------------------------------------------------------------

describe('webhook subscriptions API', () => {
  it('creates a subscription: 201 with the secret, shown once; stored sealed', async () => {
    const t = await tenant();
    const res = await t.api
      .post('/webhook_subscriptions', { webhook_url: 'https://hooks.example.com/latchkey', enabled_events: [CA('expired'), CA('activated'), CA('expired')] })
      .expect(201);
    const sub = res.body as Subscription & Record<string, unknown>;
    expect(sub).toEqual({
      id: expect.stringMatching(/^ws_[0-9A-Za-z]{6,40}$/),
      webhook_url: 'https://hooks.example.com/latchkey',
      enabled_events: [CA('expired'), CA('activated')],
      version: 'V3',
      status: 'ENABLED',
      disabled_reason: null,
      consecutive_failures: 0,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
    });

    const got = await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body).toEqual((({ secret: _s, ...rest }) => rest)(sub));
    expect(JSON.stringify(got.body)).not.toContain(sub.secret);
    const list = await t.api.get('/webhook_subscriptions').expect(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).not.toHaveProperty('secret');
    expect(JSON.stringify(list.body)).not.toContain(sub.secret);

    const row = await ctx.db.webhookSubscription.findUniqueOrThrow({ where: { id: sub.id } });
    expect(row.secret).not.toContain(sub.secret);
    expect(row.secret).not.toContain(sub.secret.slice('whsec_'.length));
    // Sealed with the server's key, bound to the project and subscription.
    expect(createCrypto(TEST_SECRETS).open(row.secret, `webhook:${t.projectId}/${sub.id}`)).toBe(sub.secret);
    // Two subscriptions never share a secret.
    const other = await subscribe(t, 'https://hooks.example.com/other', [CA('expired')]);
    expect(other.secret).not.toBe(sub.secret);
  });

  it('lists in the pagination envelope, newest first, without secrets', async () => {
    const t = await tenant();
    const made: Subscription[] = [];
    for (const n of [1, 2, 3]) {
      made.push(await subscribe(t, `https://hooks.example.com/${n}`, [CA('created')]));
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct created_at
    }
    const first = await t.api.get('/webhook_subscriptions?limit=2').expect(200);
    expect(first.body).toEqual({ items: expect.any(Array), next_cursor: expect.any(String), total_items: 3, total_pages: 2, current_page: 1 });
    expect(first.body.items.map((s: Subscription) => s.id)).toEqual([made[2]!.id, made[1]!.id]);
    const second = await t.api.get(`/webhook_subscriptions?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`).expect(200);
    expect(second.body).toMatchObject({ next_cursor: null, total_items: 3, total_pages: 2, current_page: 2 });
    expect(second.body.items.map((s: Subscription) => s.id)).toEqual([made[0]!.id]);
    for (const s of [...first.body.items, ...second.body.items]) expect(s).not.toHaveProperty('secret');
  });

  it('updates, disables, re-enables and deletes a subscription', async () => {
    const t = await tenant();
    const sub = await subscribe(t, 'https://hooks.example.com/a', [CA('created')]);
    const patched = await t.api
      .patch(`/webhook_subscriptions/${sub.id}`, { webhook_url: 'https://hooks.example.com/b', enabled_events: [CA('deleted'), CA('revoked')] })
      .expect(200);
    expect(patched.body).toMatchObject({ id: sub.id, webhook_url: 'https://hooks.example.com/b', enabled_events: [CA('deleted'), CA('revoked')], status: 'ENABLED' });
    expect(patched.body).not.toHaveProperty('secret');

    const off = await t.api.patch(`/webhook_subscriptions/${sub.id}`, { enabled: false }).expect(200);
    expect(off.body).toMatchObject({ status: 'DISABLED', disabled_reason: 'Disabled by the project' });
    const on = await t.api.patch(`/webhook_subscriptions/${sub.id}`, { enabled: true }).expect(200);
    expect(on.body).toMatchObject({ status: 'ENABLED', disabled_reason: null, consecutive_failures: 0 });

    await t.api.patch(`/webhook_subscriptions/${sub.id}`, { enabled_events: [] }).expect(400);
    await t.api.patch(`/webhook_subscriptions/${sub.id}`, { webhook_url: 'ftp://hooks.example.com/x' }).expect(400);

    expect((await t.api.del(`/webhook_subscriptions/${sub.id}`).expect(200)).body).toEqual({ success: true });
    await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(404);
    await t.api.del(`/webhook_subscriptions/${sub.id}`).expect(404);
    await t.api.patch(`/webhook_subscriptions/${sub.id}`, { enabled: true }).expect(404);
    expect((await t.api.get('/webhook_subscriptions').expect(200)).body).toMatchObject({ items: [], total_items: 0 });
  });

  it('lists every event type with its supported versions', async () => {
    const t = await tenant();
    const res = await t.api.get('/webhook_subscriptions/event_types').expect(200);
    const items = res.body.items as { event_type: string; description: string; supported_versions: string[] }[];
    expect(items.map((i) => i.event_type).sort()).toEqual([...ALL_ACCOUNT_EVENTS, SUBSCRIPTION_DISABLED, 'composio.trigger.message', 'composio.trigger.disabled'].sort());
    expect(items).toHaveLength(EVENT_TYPES.length);
    for (const i of items) {
      expect(i.supported_versions).toEqual(['V3']);
      expect(i.description.length).toBeGreaterThan(10);
    }
  });

  it('refuses malformed URLs and unknown event types with 400', async () => {
    const t = await tenant();
    const bad = async (body: object) => {
      const res = await t.api.post('/webhook_subscriptions', body).expect(400);
      expect(res.body.error).toMatchObject({ status: 400, slug: 'Request_ValidationError' });
      return res.body.error.message as string;
    };
    expect(await bad({ webhook_url: 'ftp://hooks.example.com/x', enabled_events: [CA('created')] })).toMatch(/http/);
    expect(await bad({ webhook_url: 'not a url', enabled_events: [CA('created')] })).toMatch(/not a URL/);
    expect(await bad({ webhook_url: 'https://user:pw@hooks.example.com/x', enabled_events: [CA('created')] })).toMatch(/credentials/);
    await bad({ webhook_url: 'https://hooks.example.com/x', enabled_events: ['composio.trigger.nope'] });
    await bad({ webhook_url: 'https://hooks.example.com/x', enabled_events: [CA('created'), 'composio.connected_account.nope'] });
    await bad({ webhook_url: 'https://hooks.example.com/x', enabled_events: [] });
    await bad({ webhook_url: 'https://hooks.example.com/x', enabled_events: [CA('created')], version: 'V2' });
    expect((await t.api.get('/webhook_subscriptions').expect(200)).body.total_items).toBe(0);
  });

  it('refuses loopback, private and internal URLs unless WEBHOOKS_ALLOW_PRIVATE_URLS', async () => {
    const t = await tenant(guarded);
    const internal = [
      'http://127.0.0.1/hook',
      'http://127.0.0.1:8080/hook',
      'http://localhost',
      'http://localhost./hook',
      'http://api.localhost/hook',
      'http://metadata.google.internal/x',
      'http://10.0.0.1',
      'http://172.16.5.4/',
      'http://192.168.1.20/',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://2130706433/',
      'http://[::1]/',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:10.0.0.1]/',
    ];
    for (const url of internal) {
      const res = await t.api.post('/webhook_subscriptions', { webhook_url: url, enabled_events: [CA('created')] });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body.error.slug).toBe('Request_ValidationError');
    }
    // The same check guards updates.
    const ok = await subscribe(t, 'https://hooks.example.com/x', [CA('created')]);
    await t.api.patch(`/webhook_subscriptions/${ok.id}`, { webhook_url: 'http://10.0.0.1/' }).expect(400);
    await t.api.post('/webhook_subscriptions', { webhook_url: 'http://93.184.215.14/hook', enabled_events: [CA('created')] }).expect(201);
    // With the setting on, loopback is fine (the rest of this file relies on it).
    const open = await tenant(ctx);
    await open.api.post('/webhook_subscriptions', { webhook_url: 'http://127.0.0.1:9/hook', enabled_events: [CA('created')] }).expect(201);
    await open.api.post('/webhook_subscriptions', { webhook_url: 'http://[::1]:9/hook', enabled_events: [CA('created')] }).expect(201);
  });

  it("another project's subscription is 404 on every route", async () => {
    const owner = await tenant();
    const other = await tenant();
    const r = await receiver();
    const sub = await subscribe(owner, r.url, [CA('created')]);
    await createAccount(owner);
    await drain();
    const [d] = await deliveries(owner, sub.id);
    expect(d).toBeDefined();

    await other.api.get(`/webhook_subscriptions/${sub.id}`).expect(404);
    await other.api.patch(`/webhook_subscriptions/${sub.id}`, { enabled: false }).expect(404);
    await other.api.post(`/webhook_subscriptions/${sub.id}/rotate_secret`).expect(404);
    await other.api.get(`/webhook_subscriptions/${sub.id}/deliveries`).expect(404);
    await other.api.post(`/webhook_subscriptions/${sub.id}/deliveries/${d!.id}/redeliver`).expect(404);
    await other.api.del(`/webhook_subscriptions/${sub.id}`).expect(404);
    expect((await other.api.get('/webhook_subscriptions').expect(200)).body.items).toEqual([]);
    // And the owner's subscription is untouched.
    expect((await owner.api.get(`/webhook_subscriptions/${sub.id}`).expect(200)).body).toMatchObject({ status: 'ENABLED' });
    // A subscription only ever hears about its own project's accounts.
    await createAccount(other);
    await drain();
    expect(r.received).toHaveLength(1);
  });
});

// ---- 2. a real delivery -------------------------------------------------------------------------

describe('delivery', () => {
  it('is signed as the official SDK verifies it, in the V3 envelope, with secrets masked; only subscribed types', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created'), CA('disabled')]);
    const apiKey = `lin_api_${randomBytes(12).toString('hex')}`;
    const made = Date.now();
    const id = await createAccount(t, apiKey);
    const asGet = (await t.api.get(`/connected_accounts/${id}`).expect(200)).body as Record<string, unknown> & { data: object; state: { val: object } };
    expect(asGet.data).toMatchObject({ api_key: apiKey }); // this project's key sees credentials; webhooks never do

    expect(await runOnce()).toEqual({ fannedOut: 1, delivered: 1 });
    expect(r.received).toHaveLength(1);
    const req = r.received[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/latchkey');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-composio-webhook-version']).toBe('V3');
    expect(req.headers['webhook-id']).toMatch(MSG_ID);
    // Sent after the account was made, before it was received (whole seconds).
    expect(Number(header(req, 'webhook-timestamp'))).toBeGreaterThanOrEqual(Math.floor(made / 1000));
    expect(Number(header(req, 'webhook-timestamp'))).toBeLessThanOrEqual(Math.ceil(req.at / 1000));
    expect(header(req, 'webhook-signature')).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const verified = await verify(req, sub.secret);
    expect(verified.version).toBe('V3');
    expect(header(req, 'webhook-signature')).toBe(hmac(sub.secret, req));
    // Wrong secret, altered body, altered id or timestamp: all refused.
    await expect(verify(req, 'whsec_wrong')).rejects.toThrow(/signature/i);
    await expect(verify({ ...req, body: `${req.body} ` }, sub.secret)).rejects.toThrow(/signature/i);
    await expect(verify({ ...req, headers: { ...req.headers, 'webhook-id': 'msg_other' } }, sub.secret)).rejects.toThrow();
    await expect(
      verify({ ...req, headers: { ...req.headers, 'webhook-timestamp': String(Number(req.headers['webhook-timestamp']) - 1) } }, sub.secret),
    ).rejects.toThrow();

    const body = JSON.parse(req.body) as { id: string; timestamp: string; type: string; data: Record<string, unknown>; metadata: object };
    expect(Object.keys(body).sort()).toEqual(['data', 'id', 'metadata', 'timestamp', 'type']);
    expect(body.id).toBe(req.headers['webhook-id']);
    expect(body.type).toBe(CA('created'));
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    expect(Date.parse(body.timestamp)).toBeGreaterThanOrEqual(made - 1);
    expect(Date.parse(body.timestamp)).toBeLessThanOrEqual(req.at);
    expect(body.metadata).toEqual({ project_id: t.projectId, org_id: ORGANIZATION_ID });
    // data is the account exactly as GET shows it, but with every secret masked.
    const expected = structuredClone(asGet);
    (expected.data as Record<string, unknown>).api_key = MASK;
    (expected.state.val as Record<string, unknown>).api_key = MASK;
    expect(body.data).toEqual(expected);
    expect(req.body).not.toContain(apiKey);

    // The same delivery, as seen from the SDK's other entry point.
    const parsed = await composio.triggers.parse({ body: req.body, headers: req.headers }, { verifySecret: sub.secret });
    expect(parsed.payload.triggerSlug).toBe(CA('created'));

    // 'activated' happened too (ACTIVE at creation), but this subscription did not ask for it.
    const events = await ctx.db.webhookEvent.findMany({ where: { accountId: id }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => e.type)).toEqual([CA('created'), CA('activated')]);

    await setEnabled(t, id, false);
    const disabledView = (await t.api.get(`/connected_accounts/${id}`).expect(200)).body as typeof asGet;
    await setEnabled(t, id, true); // not subscribed
    await drain();
    expect(typesOf(r)).toEqual([CA('created'), CA('disabled')]);
    const second = r.received[1]!;
    await verify(second, sub.secret);
    const d2 = JSON.parse(second.body) as { id: string; data: Record<string, unknown> };
    expect(d2.id).not.toBe(body.id);
    const expected2 = structuredClone(disabledView);
    (expected2.data as Record<string, unknown>).api_key = MASK;
    (expected2.state.val as Record<string, unknown>).api_key = MASK;
    expect(d2.data).toEqual(expected2);
    expect(d2.data).toMatchObject({ status: 'INACTIVE', is_disabled: true, status_reason: 'Connection status updated by user' });

    const log = await deliveries(t, sub.id);
    expect(log).toHaveLength(2);
    for (const d of log) {
      expect(d).toMatchObject({ status: 'SUCCEEDED', next_attempt_at: null });
      expect(d.attempts).toEqual([{ attempt: 1, at: expect.any(String), duration_ms: expect.any(Number), status_code: 200, error: null }]);
    }
    expect(log.map((d) => d.event_type).sort()).toEqual([CA('created'), CA('disabled')]);
  });

  it("the account data carries its labels and, for a SHARED account, its ACL (the outbox snapshot is the whole row)", async () => {
    const t = await tenant();
    const r = await receiver();
    await subscribe(t, r.url, [CA('created')]);
    const res = await t.api
      .post('/connected_accounts', {
        auth_config: { id: t.cfgId },
        connection: {
          user_id: 'team',
          labels: ['billing', 'env=prod'],
          experimental: { account_type: 'SHARED', acl_config_for_shared: { allowed_user_ids: ['bob'] } },
          state: { authScheme: 'API_KEY', val: { api_key: 'lin_api_labelled' } },
        },
      })
      .expect(201);
    await drain();
    expect(r.bodies().map((b) => [b.type, b.data.id])).toEqual([[CA('created'), res.body.id]]);
    expect(r.bodies()[0]!.data).toMatchObject({
      user_id: 'team',
      labels: ['billing', 'env=prod'],
      experimental: { account_type: 'SHARED', acl_config_for_shared: { allow_all_users: false, allowed_user_ids: ['bob'], not_allowed_user_ids: [] } },
    });
  });

  it('does not deliver to a disabled or deleted subscription', async () => {
    const t = await tenant();
    const r1 = await receiver();
    const r2 = await receiver();
    const s1 = await subscribe(t, r1.url, [CA('created')]);
    const s2 = await subscribe(t, r2.url, [CA('created')]);
    await t.api.patch(`/webhook_subscriptions/${s1.id}`, { enabled: false }).expect(200);
    await t.api.del(`/webhook_subscriptions/${s2.id}`).expect(200);
    await createAccount(t);
    await drain();
    expect(r1.received).toHaveLength(0);
    expect(r2.received).toHaveLength(0);
  });

  it('refuses, at delivery time, a URL that now points at an internal address', async () => {
    const t = await tenant(guarded);
    const r = await receiver();
    const port = new URL(r.url).port;
    for (const url of [r.url, `http://[::ffff:7f00:1]:${port}/hooks/latchkey`]) {
      const sub = await subscribe(t, 'https://hooks.example.com/x', [CA('disabled')]);
      // As if DNS for the saved host now answered with a loopback address.
      await guarded.db.webhookSubscription.update({ where: { id: sub.id }, data: { url } });
      const id = await createAccount(t);
      await setEnabled(t, id, false);
      await drain(guarded);
      const [d] = await deliveries(t, sub.id);
      expect(d!.attempts).toEqual([expect.objectContaining({ status_code: null, error: 'the URL resolves to an internal address' })]);
      await t.api.del(`/webhook_subscriptions/${sub.id}`).expect(200);
    }
    expect(r.received).toHaveLength(0);
  });
});

// ---- 3. the outbox survives a crash -------------------------------------------------------------

describe('outbox durability', () => {
  it('events written with no dispatcher running are delivered by a restarted instance', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, ALL_ACCOUNT_EVENTS);
    const id = await createAccount(t);
    await setEnabled(t, id, false);
    await setEnabled(t, id, true);
    await deleteAccount(t, id);
    // Each change committed its event in the same transaction; nothing has been sent yet.
    const pending = await ctx.db.webhookEvent.findMany({ where: { accountId: id }, orderBy: { seq: 'asc' } });
    expect(pending.map((e) => [e.type, e.dispatchedAt])).toEqual([
      [CA('created'), null],
      [CA('activated'), null],
      [CA('disabled'), null],
      [CA('enabled'), null],
      [CA('deleted'), null],
    ]);
    expect(r.received).toHaveLength(0);

    // "Restart": a new app instance, with its own connections, on the same database.
    const clients = createDatabase(ctx.databaseUrl, 3);
    const app = await buildApp({
      config: { ...TEST_CONFIG, ...BASE_CONFIG },
      db: clients.db,
      pool: clients.pool,
      crypto: createCrypto(TEST_SECRETS),
      logStream: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    try {
      await app.ready();
      for (let i = 0; i < 20; i++) {
        const res = await app.services.webhookDelivery.runOnce();
        if (!res.fannedOut && !res.delivered) break;
      }
    } finally {
      await app.close();
      await clients.close();
    }
    expect(typesOf(r)).toEqual([CA('created'), CA('activated'), CA('disabled'), CA('enabled'), CA('deleted')]);
    expect(r.bodies().map((b) => b.id)).toEqual(pending.map((e) => e.id));
    for (const req of r.received) await verify(req, sub.secret);
    expect((await deliveries(t, sub.id)).every((d) => d.status === 'SUCCEEDED')).toBe(true);
    expect((await ctx.db.webhookEvent.findMany({ where: { accountId: id, dispatchedAt: null } })).length).toBe(0);
  });

  it('a delivery claimed by a worker that died is delivered once its lease runs out', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created')]);
    await createAccount(t);
    expect(await ctx.app.services.webhookDelivery.fanOut()).toBe(1);

    // A worker claims it, then dies before sending or recording anything.
    const claimedFrom = Date.now();
    const claimed = await webhooksRepository(ctx.db, ctx.pool).claimDue(50);
    const mine = claimed.filter((d) => d.subscription_id === sub.id);
    expect(mine).toHaveLength(1);
    const row = await ctx.db.webhookDelivery.findUniqueOrThrow({ where: { id: mine[0]!.id } });
    // The lease outlives the longest attempt a live worker can make (WEBHOOK_TIMEOUT_MS is at most 60 s).
    expect(row.leaseUntil!.getTime()).toBeGreaterThan(claimedFrom + 60_000 + 30_000);

    // While the lease holds, nobody else takes it.
    await runOnce();
    expect(r.received).toHaveLength(0);
    // The lease runs out: the next run delivers it, once.
    await ctx.db.webhookDelivery.update({ where: { id: row.id }, data: { leaseUntil: new Date(Date.now() - 1000) } });
    await drain();
    expect(r.received).toHaveLength(1);
    await verify(r.received[0]!, sub.secret);
    const [d] = await deliveries(t, sub.id);
    expect(d).toMatchObject({ id: row.id, status: 'SUCCEEDED' });
    expect(d!.attempts).toHaveLength(1);
  });

  it('one pass sends what it fanned out, even when its first claim returns after the fan-out ended', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created')]);
    await createAccount(t);

    // The real repository, with the timing a busy machine can produce: the deliverer's first claim
    // runs before the fan-out commits, and returns (empty) only after the fan-out has finished.
    const real = webhooksRepository(ctx.db, ctx.pool);
    let firstClaimRan!: () => void;
    const firstClaimHasRun = new Promise<void>((resolve) => (firstClaimRan = resolve));
    let fanOutEnded!: () => void;
    const fanOutHasEnded = new Promise<void>((resolve) => (fanOutEnded = resolve));
    let claims = 0;
    const repo: typeof real = {
      ...real,
      withFanOutLock: async (fn) => {
        await firstClaimHasRun;
        return real.withFanOutLock(fn);
      },
      pendingEvents: async (q, take) => {
        const events = await real.pendingEvents(q, take);
        if (!events.length) fanOutEnded();
        return events;
      },
      claimDue: async (limit) => {
        const claimed = await real.claimDue(limit);
        if (++claims === 1) {
          firstClaimRan();
          await fanOutHasEnded;
          await new Promise((resolve) => setTimeout(resolve, 50)); // the fan-out's pass has ended too
        }
        return claimed;
      },
    };
    const dispatcher = webhookDispatcher({
      repo,
      crypto: createCrypto(TEST_SECRETS),
      maskedView: ctx.app.services.connectedAccounts.maskedView,
      authConfigState: async () => null,
      egress: createEgress({ allowPrivate: true, allowLoopback: false, timeoutMs: 1000 }),
      settings: { disableAfter: 5 },
    });

    const pass = await dispatcher.runOnce();
    expect(claims).toBeGreaterThan(1);
    expect(pass.fannedOut).toBeGreaterThanOrEqual(1);
    expect(pass.delivered).toBe(pass.fannedOut);
    expect(r.received).toHaveLength(1);
    expect((await deliveries(t, sub.id))[0]).toMatchObject({ status: 'SUCCEEDED' });
  });
});

// ---- 4. retries ---------------------------------------------------------------------------------

describe('retries', () => {
  async function oneDelivery(replies: Parameters<Receiver['reply']>) {
    const t = await tenant();
    const r = await receiver();
    r.reply(...replies);
    const sub = await subscribe(t, r.url, [CA('created')]);
    await createAccount(t);
    return { t, r, sub };
  }

  for (const [label, first, error] of [
    ['a 500', 500, 'HTTP 500'],
    ['a 503', 503, 'HTTP 503'],
    ['a 429', 429, 'HTTP 429'],
  ] as const) {
    it(`${label} is retried after a backoff, with the same webhook-id and body`, async () => {
      const { t, r, sub } = await oneDelivery([first, 200]);
      await runOnce();
      expect(r.received).toHaveLength(1);
      let [d] = await deliveries(t, sub.id);
      expect(d).toMatchObject({ status: 'PENDING' });
      expect(d!.attempts).toEqual([{ attempt: 1, at: expect.any(String), duration_ms: expect.any(Number), status_code: first, error }]);
      // Scheduled a backoff (10 s, jitter -25% at most) after the attempt ended, as recorded.
      const ended = Date.parse(d!.attempts[0]!.at) + d!.attempts[0]!.duration_ms;
      expect(Date.parse(d!.next_attempt_at!) - ended).toBeGreaterThanOrEqual(7_500 - 5);

      // Not before its time.
      await runOnce();
      expect(r.received).toHaveLength(1);

      await makeDue(ctx, sub.id);
      await runOnce();
      expect(r.received).toHaveLength(2);
      [d] = await deliveries(t, sub.id);
      expect(d).toMatchObject({ status: 'SUCCEEDED', next_attempt_at: null });
      expect(d!.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
        [1, first, error],
        [2, 200, null],
      ]);
      const [a, b] = r.received as [Received, Received];
      expect(b.headers['webhook-id']).toBe(a.headers['webhook-id']);
      expect(b.body).toBe(a.body);
      await verify(a, sub.secret);
      await verify(b, sub.secret);
    });
  }

  it('a timeout (the receiver answers after WEBHOOK_TIMEOUT_MS) is retried', async () => {
    const { t, r, sub } = await oneDelivery([{ status: 200, delayMs: 2500 }, 200]);
    await runOnce();
    let [d] = await deliveries(t, sub.id);
    expect(d).toMatchObject({ status: 'PENDING' });
    expect(d!.attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: null, error: 'timed out' })]);
    // It waited the timeout (1 s), and gave up before the receiver answered (2.5 s after the request).
    const attempt = d!.attempts[0]!;
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(950);
    await expect.poll(() => r.received[0]!.answeredAt, { timeout: 10_000, interval: 50 }).toBeDefined();
    expect(Date.parse(attempt.at) + attempt.duration_ms).toBeLessThan(r.received[0]!.answeredAt!);

    await makeDue(ctx, sub.id);
    await runOnce();
    [d] = await deliveries(t, sub.id);
    expect(d!.status).toBe('SUCCEEDED');
    expect(d!.attempts.map((a) => a.status_code)).toEqual([null, 200]);
    expect(r.received[1]!.headers['webhook-id']).toBe(r.received[0]!.headers['webhook-id']);
    expect(r.received[1]!.body).toBe(r.received[0]!.body);
  });

  it('a refused connection is retried', async () => {
    const t = await tenant();
    const gone = await startReceiver();
    await gone.close();
    const sub = await subscribe(t, gone.url, [CA('created')]);
    await createAccount(t);
    await runOnce();
    const [d] = await deliveries(t, sub.id);
    expect(d).toMatchObject({ status: 'PENDING' });
    expect(d!.attempts).toEqual([expect.objectContaining({ status_code: null, error: 'connection failed' })]);
  });

  for (const code of [400, 404, 410, 301]) {
    it(`a ${code} is final: FAILED, not retried`, async () => {
      const { t, r, sub } = await oneDelivery([code, 200]);
      await runOnce();
      let [d] = await deliveries(t, sub.id);
      expect(d).toMatchObject({ status: 'FAILED', next_attempt_at: null });
      expect(d!.attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: code, error: `HTTP ${code}` })]);
      await makeDue(ctx, sub.id);
      await ctx.db.webhookDelivery.updateMany({ where: { subscriptionId: sub.id }, data: { nextAttemptAt: new Date(Date.now() - 60_000) } });
      await drain();
      expect(r.received).toHaveLength(1);
      [d] = await deliveries(t, sub.id);
      expect(d!.attempts).toHaveLength(1);
      expect((await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(200)).body.consecutive_failures).toBe(1);
    });
  }

  it('the backoff grows with each failure, with jitter; the log shows every attempt', async () => {
    const t = await tenant();
    const r = await receiver();
    r.setDefault(500);
    const sub = await subscribe(t, r.url, [CA('created')]);
    await createAccount(t);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await makeDue(ctx, sub.id);
      await runOnce();
      const [d] = await deliveries(t, sub.id);
      expect(d!.status).toBe('PENDING');
      expect(d!.attempts).toHaveLength(i + 1);
      // The wait runs from the end of the attempt, as recorded (its start plus its duration).
      const last = d!.attempts[i]!;
      const wait = Date.parse(d!.next_attempt_at!) - (Date.parse(last.at) + last.duration_ms);
      const nominal = 10_000 * 2 ** i;
      expect(wait).toBeGreaterThanOrEqual(nominal * 0.75 - 5);
      expect(wait).toBeLessThanOrEqual(nominal * 1.25 + 5);
      waits.push(wait);
    }
    for (let i = 1; i < waits.length; i++) expect(waits[i]!).toBeGreaterThan(waits[i - 1]!);
    expect(r.received).toHaveLength(5);
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1);

    const [d] = await deliveries(t, sub.id);
    expect(d!.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5]);
    for (const a of d!.attempts) {
      expect(a.status_code).toBe(500);
      expect(a.error).toBe('HTTP 500');
      expect(Number.isInteger(a.duration_ms)).toBe(true);
      expect(a.duration_ms).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(a.at))).toBe(false);
    }
    const ats = d!.attempts.map((a) => Date.parse(a.at));
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect((await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(200)).body.consecutive_failures).toBe(5);
  });

  it('backoffMs: doubling from 10 s, capped at 2 h, ±25% jitter (unit)', () => {
    for (let n = 1; n <= 14; n++) {
      const nominal = Math.min(2 * 3600_000, 10_000 * 2 ** (n - 1));
      const samples = Array.from({ length: 200 }, () => backoffMs(n));
      for (const s of samples) {
        expect(s).toBeGreaterThanOrEqual(nominal * 0.75);
        expect(s).toBeLessThanOrEqual(nominal * 1.25);
      }
      expect(new Set(samples).size).toBeGreaterThan(150); // jittered, not fixed
      expect(Math.min(...samples)).toBeLessThan(nominal * 0.9);
      expect(Math.max(...samples)).toBeGreaterThan(nominal * 1.1);
    }
  });

  it('gives up (FAILED) once the delivery is older than the retry window', async () => {
    const { t, r, sub } = await oneDelivery([500]);
    await ctx.app.services.webhookDelivery.fanOut();
    await ctx.db.webhookDelivery.updateMany({ where: { subscriptionId: sub.id }, data: { createdAt: new Date(Date.now() - 27 * 3600_000) } });
    await runOnce();
    expect(r.received).toHaveLength(1);
    const [d] = await deliveries(t, sub.id);
    expect(d).toMatchObject({ status: 'FAILED', next_attempt_at: null });
  });
});

// ---- 5. redelivery ------------------------------------------------------------------------------

describe('redelivery', () => {
  it('sends the same event again: same webhook-id and body, newly signed', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created')]);
    await createAccount(t);
    await drain();
    const [original] = await deliveries(t, sub.id);
    expect(original!.status).toBe('SUCCEEDED');

    const res = await t.api.post(`/webhook_subscriptions/${sub.id}/deliveries/${original!.id}/redeliver`).expect(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^wd_/), event_id: original!.event_id, status: 'PENDING' });
    expect(res.body.id).not.toBe(original!.id);
    await drain();
    expect(r.received).toHaveLength(2);
    const [a, b] = r.received as [Received, Received];
    expect(b.headers['webhook-id']).toBe(a.headers['webhook-id']);
    expect(b.headers['webhook-id']).toBe(original!.event_id);
    expect(b.body).toBe(a.body);
    await verify(b, sub.secret);

    const log = await deliveries(t, sub.id);
    expect(log).toHaveLength(2);
    expect(log.find((d) => d.id === res.body.id)).toMatchObject({ status: 'SUCCEEDED', event_id: original!.event_id, event_type: CA('created') });

    // A failed delivery can be sent again too.
    r.reply(400);
    const id2 = await createAccount(t);
    await drain();
    const failed = (await deliveries(t, sub.id)).find((d) => d.status === 'FAILED')!;
    expect(failed).toBeDefined();
    await t.api.post(`/webhook_subscriptions/${sub.id}/deliveries/${failed.id}/redeliver`).expect(201);
    await drain();
    expect(r.received).toHaveLength(4);
    expect(r.received[3]!.body).toBe(r.received[2]!.body);
    expect(JSON.parse(r.received[3]!.body).data.id).toBe(id2);

    await t.api.post(`/webhook_subscriptions/${sub.id}/deliveries/wd_doesnotexist/redeliver`).expect(404);
    const sub2 = await subscribe(t, r.url, [CA('created')]);
    await t.api.post(`/webhook_subscriptions/${sub2.id}/deliveries/${original!.id}/redeliver`).expect(404);
  });
});

// ---- 6. secret rotation -------------------------------------------------------------------------

describe('secret rotation', () => {
  it('during the grace period both secrets sign; afterwards only the new one', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('disabled'), CA('enabled')]);
    const before = Date.now();
    const rot = await t.api.post(`/webhook_subscriptions/${sub.id}/rotate_secret`).expect(200);
    expect(rot.body).toEqual({ id: sub.id, secret: expect.stringMatching(/^whsec_/), previous_secret_expires_at: expect.any(String) });
    const newSecret = rot.body.secret as string;
    expect(newSecret).not.toBe(sub.secret);
    // The default grace period is 24 hours.
    expect(Date.parse(rot.body.previous_secret_expires_at)).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(Date.parse(rot.body.previous_secret_expires_at)).toBeLessThanOrEqual(Date.now() + 86_400_000 + 1000);
    const got = await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(200);
    expect(JSON.stringify(got.body)).not.toContain(newSecret);
    expect(JSON.stringify(got.body)).not.toContain(sub.secret);
    const row = await ctx.db.webhookSubscription.findUniqueOrThrow({ where: { id: sub.id } });
    for (const v of [row.secret, row.previousSecret!]) {
      expect(v).not.toContain(newSecret);
      expect(v).not.toContain(sub.secret);
    }

    const id = await createAccount(t);
    await setEnabled(t, id, false);
    await drain();
    expect(r.received).toHaveLength(1);
    const during = r.received[0]!;
    const sigs = header(during, 'webhook-signature').split(' ');
    expect(sigs).toHaveLength(2);
    for (const s of sigs) expect(s).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(sigs).toEqual([hmac(newSecret, during), hmac(sub.secret, during)]);
    // Receivers on either secret accept it.
    await verify(during, newSecret);
    await verify(during, sub.secret);
    await expect(verify(during, 'whsec_someone_else')).rejects.toThrow();

    // The grace period ends.
    await ctx.db.webhookSubscription.update({ where: { id: sub.id }, data: { previousSecretUntil: new Date(Date.now() - 1000) } });
    await setEnabled(t, id, true);
    await drain();
    expect(r.received).toHaveLength(2);
    const after = r.received[1]!;
    expect(header(after, 'webhook-signature').split(' ')).toEqual([hmac(newSecret, after)]);
    await verify(after, newSecret);
    await expect(verify(after, sub.secret)).rejects.toThrow(/signature/i);
  });

  it('with WEBHOOK_SECRET_GRACE_MS = 0 only the new secret signs', async () => {
    const t = await tenant(strictCtx);
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created')]);
    const before = Date.now();
    const rot = await t.api.post(`/webhook_subscriptions/${sub.id}/rotate_secret`).expect(200);
    // The previous secret expired as the rotation happened: between the request and its answer.
    expect(Date.parse(rot.body.previous_secret_expires_at)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(rot.body.previous_secret_expires_at)).toBeLessThanOrEqual(Date.now());
    await createAccount(t);
    await drain(strictCtx);
    expect(r.received).toHaveLength(1);
    const req = r.received[0]!;
    expect(header(req, 'webhook-signature').split(' ')).toEqual([hmac(rot.body.secret, req)]);
    await verify(req, rot.body.secret);
    await expect(verify(req, sub.secret)).rejects.toThrow(/signature/i);
  });
});

// ---- 7. ordering ----------------------------------------------------------------------------------

describe('ordering', () => {
  it("one account's events arrive in order even when the first is retried (the later ones wait)", async () => {
    const t = await tenant();
    const r = await receiver();
    r.reply(500);
    const sub = await subscribe(t, r.url, [CA('disabled'), CA('enabled'), CA('deleted')]);
    const id = await createAccount(t);
    await setEnabled(t, id, false);
    await setEnabled(t, id, true);
    await setEnabled(t, id, false);
    await deleteAccount(t, id);

    await runOnce();
    expect(r.received).toHaveLength(1);
    let log = await deliveries(t, sub.id);
    expect(log).toHaveLength(4);
    expect(log.filter((d) => d.attempts.length === 1)).toEqual([expect.objectContaining({ event_type: CA('disabled'), status: 'PENDING' })]);
    // The others are due, but wait behind the first.
    await runOnce();
    await runOnce();
    expect(r.received).toHaveLength(1);

    await makeDue(ctx, sub.id);
    await drain();
    expect(typesOf(r)).toEqual([CA('disabled'), CA('disabled'), CA('enabled'), CA('disabled'), CA('deleted')]);
    const ids = r.bodies().map((b) => b.id);
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(ids.slice(1)).size).toBe(4);
    const statuses = r.bodies().map((b) => b.data.status);
    expect(statuses).toEqual(['INACTIVE', 'INACTIVE', 'ACTIVE', 'INACTIVE', 'INACTIVE']);
    log = await deliveries(t, sub.id);
    expect(log.every((d) => d.status === 'SUCCEEDED')).toBe(true);
  });

  it("another account's events are not held up by one account's failing delivery", async () => {
    const t = await tenant();
    const r = await receiver();
    const a = await createAccount(t);
    const b = await createAccount(t);
    r.respond((req) => ((JSON.parse(req.body) as { data: { id: string } }).data.id === a ? 500 : undefined));
    const sub = await subscribe(t, r.url, [CA('disabled'), CA('enabled')]);
    await setEnabled(t, a, false);
    await setEnabled(t, b, false);
    await setEnabled(t, a, true);
    await setEnabled(t, b, true);
    await drain();
    const seen = r.bodies().map((x) => `${x.data.id === a ? 'a' : 'b'}:${x.type.split('.').pop()}`);
    expect(seen.filter((s) => s.startsWith('b:'))).toEqual(['b:disabled', 'b:enabled']);
    expect(seen.filter((s) => s.startsWith('a:'))).toEqual(['a:disabled']); // a's second waits for its first
    const log = await deliveries(t, sub.id);
    expect(log.filter((d) => d.status === 'SUCCEEDED')).toHaveLength(2);
    expect(log.filter((d) => d.status === 'PENDING')).toHaveLength(2);
  });

  it('a failing subscription does not block another subscription', async () => {
    const t = await tenant();
    const failing = await receiver();
    failing.setDefault(500);
    const healthy = await receiver();
    const s1 = await subscribe(t, failing.url, [CA('disabled'), CA('enabled')]);
    const s2 = await subscribe(t, healthy.url, [CA('disabled'), CA('enabled')]);
    const id = await createAccount(t);
    await setEnabled(t, id, false);
    await setEnabled(t, id, true);
    await drain();
    expect(typesOf(healthy)).toEqual([CA('disabled'), CA('enabled')]);
    expect(typesOf(failing)).toEqual([CA('disabled')]);
    expect((await deliveries(t, s2.id)).every((d) => d.status === 'SUCCEEDED')).toBe(true);
    expect((await deliveries(t, s1.id)).map((d) => d.status).sort()).toEqual(['PENDING', 'PENDING']);
  });

  it('a slow subscription does not delay another one', async () => {
    const t = await tenant();
    const a = await receiver();
    const b = await receiver();
    // Whichever receiver hears first is the slow one, so one delivery after the other would fail
    // below whatever order the dispatcher picks.
    let slow: Received | undefined;
    const firstIsSlow = (r: Received) => {
      if (slow) return 200;
      slow = r;
      return { status: 200, delayMs: 800 };
    };
    a.respond(firstIsSlow);
    b.respond(firstIsSlow);
    await subscribe(t, a.url, [CA('created')]);
    await subscribe(t, b.url, [CA('created')]);
    await createAccount(t);
    await runOnce();
    expect(a.received).toHaveLength(1);
    expect(b.received).toHaveLength(1);
    const other = [a.received[0]!, b.received[0]!].find((r) => r !== slow)!;
    // Concurrently: the other receiver got its request, and answered, while the slow one was still waiting.
    expect(other.at).toBeLessThan(slow!.answeredAt!);
    expect(other.answeredAt!).toBeLessThan(slow!.answeredAt!);
  });
});

// ---- 8. disabling after repeated failures -------------------------------------------------------

describe('automatic disabling', () => {
  it('WEBHOOK_DISABLE_AFTER_FAILURES failures disable a subscription, as an event of its own; enabling resumes', async () => {
    const c = strictCtx; // WEBHOOK_DISABLE_AFTER_FAILURES = 3
    const t = await tenant(c);
    const bad = await receiver();
    bad.setDefault(500);
    const watcher = await receiver();
    const failing = await subscribe(t, bad.url, [CA('created')]);
    const watch = await subscribe(t, watcher.url, [SUBSCRIPTION_DISABLED]);
    await createAccount(t);

    for (let i = 1; i <= 2; i++) {
      await makeDue(c, failing.id);
      await runOnce(c);
      const s = (await t.api.get(`/webhook_subscriptions/${failing.id}`).expect(200)).body;
      expect(s).toMatchObject({ status: 'ENABLED', consecutive_failures: i });
    }
    await makeDue(c, failing.id);
    await runOnce(c);
    expect(bad.received).toHaveLength(3);
    const s = (await t.api.get(`/webhook_subscriptions/${failing.id}`).expect(200)).body;
    expect(s).toMatchObject({ status: 'DISABLED', consecutive_failures: 3, disabled_reason: 'Disabled after 3 consecutive failed deliveries' });

    const events = await c.db.webhookEvent.findMany({ where: { projectId: t.projectId, type: SUBSCRIPTION_DISABLED } });
    expect(events).toHaveLength(1);
    expect(events[0]!.snapshot).toMatchObject({ id: failing.id, status: 'DISABLED' });

    await drain(c);
    expect(watcher.received).toHaveLength(1);
    const req = watcher.received[0]!;
    await verify(req, watch.secret);
    const body = JSON.parse(req.body) as { id: string; type: string; data: object; metadata: object };
    expect(body).toMatchObject({
      id: events[0]!.id,
      type: SUBSCRIPTION_DISABLED,
      data: { id: failing.id, status: 'DISABLED', reason: 'Disabled after 3 consecutive failed deliveries' },
      metadata: { project_id: t.projectId, org_id: ORGANIZATION_ID },
    });
    expect(req.headers['webhook-id']).toBe(events[0]!.id);

    // Disabled: its pending delivery waits, and new events are not fanned out to it.
    await makeDue(c, failing.id);
    await drain(c);
    expect(bad.received).toHaveLength(3);

    const on = await t.api.patch(`/webhook_subscriptions/${failing.id}`, { enabled: true }).expect(200);
    expect(on.body).toMatchObject({ status: 'ENABLED', disabled_reason: null, consecutive_failures: 0 });
    bad.setDefault(200);
    await makeDue(c, failing.id);
    await drain(c);
    expect(bad.received).toHaveLength(4);
    expect(bad.received[3]!.headers['webhook-id']).toBe(bad.received[0]!.headers['webhook-id']);
    const [d] = await deliveries(t, failing.id);
    expect(d).toMatchObject({ status: 'SUCCEEDED' });
    expect(d!.attempts.map((a) => a.status_code)).toEqual([500, 500, 500, 200]);
    expect(watcher.received).toHaveLength(1);
  });

  it('a success resets the failure count', async () => {
    const c = strictCtx; // WEBHOOK_DISABLE_AFTER_FAILURES = 3
    const t = await tenant(c);
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created')]);
    const failures = async () => (await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(200)).body.consecutive_failures as number;
    for (let round = 1; round <= 2; round++) {
      r.reply(500, 500, 200);
      await createAccount(t);
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) {
        await makeDue(c, sub.id);
        await runOnce(c);
        seen.push(await failures());
      }
      expect(seen).toEqual([1, 2, 0]);
    }
    expect(r.received).toHaveLength(6);
    expect((await t.api.get(`/webhook_subscriptions/${sub.id}`).expect(200)).body).toMatchObject({ status: 'ENABLED', disabled_reason: null });
  });
});

// ---- 9. the pg-boss job -------------------------------------------------------------------------

describe('pg-boss', () => {
  let jobs: Jobs | undefined;
  afterAll(async () => {
    await jobs?.stop();
  });

  it('startJobs dispatches the outbox on its own', async () => {
    const t = await tenant();
    const r = await receiver();
    const sub = await subscribe(t, r.url, [CA('created'), CA('disabled')]);
    jobs = await startJobs({
      databaseUrl: ctx.databaseUrl,
      oauth: ctx.app.services.oauth,
      webhooks: ctx.app.services.webhookDelivery,
      refreshAheadMs: 600_000,
      log: { info() {}, warn() {} },
      dispatchEveryMs: 200,
    });
    const id = await createAccount(t);
    await expect.poll(() => r.received.length, { timeout: 15_000, interval: 100 }).toBe(1);
    await setEnabled(t, id, false);
    await expect.poll(() => r.received.length, { timeout: 15_000, interval: 100 }).toBe(2);
    expect(typesOf(r)).toEqual([CA('created'), CA('disabled')]);
    for (const req of r.received) await verify(req, sub.secret);
    expect((await deliveries(t, sub.id)).every((d) => d.status === 'SUCCEEDED')).toBe(true);

    await jobs.stop();
    jobs = undefined;
    // Stopped: nothing more is dispatched.
    await setEnabled(t, id, true);
    await t.api.patch(`/webhook_subscriptions/${sub.id}`, { enabled_events: [CA('enabled')] }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(r.received).toHaveLength(2);
    expect(await ctx.db.webhookEvent.count({ where: { accountId: id, dispatchedAt: null } })).toBe(1);
  });

  it('under the job runner, a slow receiver does not hold up another subscription', async () => {
    const c = strictCtx; // WEBHOOK_TIMEOUT_MS = 5000
    const t = await tenant(c);
    const slow = await receiver();
    slow.setDefault({ status: 200, delayMs: 4500 });
    const fast = await receiver();
    await subscribe(t, slow.url, [CA('created')]);
    await subscribe(t, fast.url, [CA('disabled')]);
    jobs = await startJobs({
      databaseUrl: c.databaseUrl,
      oauth: c.app.services.oauth,
      webhooks: c.app.services.webhookDelivery,
      refreshAheadMs: 600_000,
      log: { info() {}, warn() {} },
      dispatchEveryMs: 200,
    });
    try {
      const id = await createAccount(t);
      await expect.poll(() => slow.received.length, { timeout: 15_000, interval: 50 }).toBe(1);
      // The slow receiver is still thinking; meanwhile another subscription's event happens.
      await setEnabled(t, id, false);
      await expect.poll(() => fast.received.length, { timeout: 15_000, interval: 50 }).toBe(1);
      await expect.poll(() => slow.received[0]!.answeredAt, { timeout: 15_000, interval: 100 }).toBeDefined();
      // It was delivered while the slow delivery was still waiting for its answer.
      expect(fast.received[0]!.answeredAt!).toBeLessThan(slow.received[0]!.answeredAt!);
    } finally {
      await jobs.stop();
      jobs = undefined;
    }
  });
});
