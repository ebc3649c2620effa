/**
 * PostgreSQL goes away under load and comes back: the real server process keeps running, answers
 * 503 (in the envelope, with retry-after) meanwhile, recovers by itself, and delivers the webhook
 * events that were waiting in the outbox before the outage.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';
import { type ServerProcess, processSecrets, seedProject, startServerProcess } from './support/server-process.js';
import { type PrivatePostgres, startPrivatePostgres } from './support/private-postgres.js';

const V = '/api/v3.1';
let pgServer: PrivatePostgres;
let server: ServerProcess;
let receiver: Receiver;
let apiKey: string;

/** Which pre-outage users' events the receiver has accepted (it refuses them until the outage ends). */
const accepted = new Set<string>();
let outageOver = false;

beforeAll(async () => {
  pgServer = await startPrivatePostgres('outage');
  const secrets = processSecrets();
  apiKey = await seedProject(pgServer.url, secrets);
  receiver = await startReceiver();
  receiver.respond((r) => {
    const user = (JSON.parse(r.body) as { data?: { user_id?: string } }).data?.user_id ?? '';
    if (!user.startsWith('before-outage')) return 200;
    if (!outageOver) return 500; // retried with backoff: the retry comes after the outage
    accepted.add(user);
    return 200;
  });
  server = await startServerProcess({
    DATABASE_URL: pgServer.url,
    JOBS_ENABLED: 'true',
    WEBHOOKS_ALLOW_PRIVATE_URLS: 'true',
    API_KEY_CACHE_MS: '0', // every request authenticates against the database
    DATABASE_POOL_SIZE: '4',
    LATCHKEY_DATA_DIR: path.join(pgServer.dir, 'data'),
    ...secrets.env,
  });
}, 120_000);

afterAll(async () => {
  await server?.kill('SIGTERM');
  await receiver?.close();
  await pgServer?.destroy();
});

type Outcome = { route: string; status: number; slug?: string; retryAfter?: string | null; error?: string; at: number };

async function call(method: string, route: string, body?: object): Promise<Outcome> {
  const at = Date.now();
  try {
    const res = await fetch(`${server.baseUrl}${route}`, {
      method,
      headers: { 'x-api-key': apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let slug: string | undefined;
    try {
      slug = (JSON.parse(text) as { error?: { slug?: string } }).error?.slug;
    } catch {
      slug = undefined;
    }
    return { route: `${method} ${route}`, status: res.status, slug, retryAfter: res.headers.get('retry-after'), at };
  } catch (err) {
    return { route: `${method} ${route}`, status: 0, error: String(err), at };
  }
}

describe('when the database goes away', () => {
  it('answers 503 meanwhile, never exits, recovers by itself, and loses no webhook event', async () => {
    const cfg = await call('POST', `${V}/auth_configs`, {
      toolkit: { slug: 'linear' },
      auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} },
    });
    expect(cfg.status).toBe(201);
    const configId = ((await (
      await fetch(`${server.baseUrl}${V}/auth_configs?toolkit_slug=linear`, { headers: { 'x-api-key': apiKey } })
    ).json()) as { items: { id: string }[] }).items[0]!.id;
    const sub = await fetch(`${server.baseUrl}${V}/webhook_subscriptions`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_url: receiver.url, enabled_events: ['composio.connected_account.created'] }),
    });
    expect(sub.status).toBe(201);
    const subId = ((await sub.json()) as { id: string }).id;
    type Delivery = { event_id: string; status: string; attempts: unknown[] };
    const deliveries = async () =>
      ((await (await fetch(`${server.baseUrl}${V}/webhook_subscriptions/${subId}/deliveries`, { headers: { 'x-api-key': apiKey } })).json()) as { items: Delivery[] }).items;
    const account = (userId: string) => ({
      auth_config: { id: configId },
      connection: { user_id: userId, state: { authScheme: 'API_KEY', val: { api_key: `key-${userId}` } } },
    });

    // Steady, bounded load: two clients, one request at a time each, until told to stop.
    const outcomes: Outcome[] = [];
    let loading = true;
    let n = 0;
    const client = async () => {
      while (loading) {
        const i = n++;
        const step = i % 3;
        outcomes.push(
          step === 0
            ? await call('GET', `${V}/connected_accounts?limit=5`)
            : step === 1
              ? await call('POST', `${V}/connected_accounts`, account(`load-${i}`))
              : await call('GET', `${V}/auth_configs/${configId}`),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const clients = [client(), client()];

    // Events in the outbox before the outage: their first delivery is refused, the retry is due later.
    for (let i = 0; i < 3; i++) expect((await call('POST', `${V}/connected_accounts`, account(`before-outage-${i}`))).status).toBe(201);
    await expect
      .poll(() => new Set(receiver.bodies().map((b) => String(b.data.user_id)).filter((u) => u.startsWith('before-outage'))).size, { timeout: 20_000, interval: 100 })
      .toBe(3);
    // Their refused attempts are recorded (PENDING, retry due in about 10 s) before the database goes.
    const waiting = new Set(receiver.bodies().filter((b) => String(b.data.user_id).startsWith('before-outage')).map((b) => b.id));
    await expect
      .poll(async () => (await deliveries()).filter((d) => waiting.has(d.event_id) && d.status === 'PENDING' && d.attempts.length === 1).length, { timeout: 10_000, interval: 100 })
      .toBe(3);

    // The outage.
    await pgServer.stop();
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const ready = await call('GET', '/readyz');
    expect(ready.status, `${ready.error} ${server.output().slice(-4000)}`).toBe(503);
    expect(ready.slug).toBe('Database_Unavailable');
    expect(Number(ready.retryAfter)).toBeGreaterThan(0);
    expect((await call('GET', '/healthz')).status).toBe(200);
    const during = await call('GET', `${V}/connected_accounts`);
    expect(during.status).toBe(503);
    expect(during.slug).toBe('Database_Unavailable');
    expect(Number(during.retryAfter)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, Math.max(0, 6000 - (Date.now() - down))));
    expect(server.child.exitCode).toBeNull();

    // Back, on the same port and data.
    outageOver = true;
    await pgServer.restart();
    await expect.poll(async () => (await call('GET', `${V}/connected_accounts?limit=1`)).status, { timeout: 20_000, interval: 250 }).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
    expect((await call('POST', `${V}/connected_accounts`, account('after-outage'))).status).toBe(201);
    await new Promise((r) => setTimeout(r, 1000));
    loading = false;
    await Promise.all(clients);

    // The waiting events were delivered after the outage, every one of them.
    await expect.poll(() => accepted.size, { timeout: 30_000, interval: 250 }).toBe(3).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify((await deliveries()).filter((d) => waiting.has(d.event_id)))}`);
    });
    await expect
      .poll(() => receiver.bodies().some((b) => b.data.user_id === 'after-outage'), { timeout: 15_000, interval: 250 })
      .toBe(true);

    // Throughout: the process lived, and every answer was a success or a 503 in the envelope.
    expect(server.child.exitCode).toBeNull();
    expect(server.child.signalCode).toBeNull();
    const bad = outcomes.filter((o) => !(o.status >= 200 && o.status < 300) && !(o.status === 503 && o.slug === 'Database_Unavailable' && o.retryAfter));
    expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
    expect(outcomes.some((o) => o.status === 503)).toBe(true);
    expect(outcomes.filter((o) => o.at > down && o.status === 201).length + outcomes.filter((o) => o.at < down).length).toBeGreaterThan(0);
    const errors = server.output().split('\n').filter((l) => /unhandled rejection|Internal_ServerError|"level":(50|60)|Warning/.test(l));
    expect(errors).toEqual([]);
  }, 120_000);
});
