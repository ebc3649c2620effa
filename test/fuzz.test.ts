/**
 * Hostile input on every API route: no answer is a 5xx, every error is in the envelope. The inputs
 * are a fixed list plus a seeded pseudo-random choice among them, so a failure replays exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

let ctx: TestContext;
const ids: Record<string, string> = {};
beforeAll(async () => {
  ctx = await createTestContext();
  ids.ac = await linearConfig(ctx);
  ids.ca = await apiKeyAccount(ctx, ids.ac);
});
afterAll(() => ctx.close());

/** mulberry32: a small seeded generator. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_STRINGS = [
  'a\u0000b',
  '\u0000',
  '\u0007\u001b[31m',
  'x'.repeat(70_000),
  '\ud800',
  'ok\udfffok',
  '🙂'.repeat(300),
  '../../etc/passwd',
  "'; DROP TABLE projects; --",
  '{{access_token}}',
  '%00',
  '',
  ' ',
];
const HOSTILE_VALUES: unknown[] = [
  ...HOSTILE_STRINGS,
  1e308,
  -1,
  2 ** 64,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  null,
  [],
  {},
  ['\u0000'],
  { '\u0000': 'key' },
  { nested: { deeper: { deepest: ['a\u0000'] } } },
];

/** Deep nesting, built without recursion limits in the sender. */
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** A plausible body for a route, so hostile values reach the fields rather than failing at the top. */
function baseBody(url: string): Record<string, unknown> {
  if (url.includes('custom_toolkits'))
    return {
      slug: 'fuzzkit',
      name: 'Fuzz',
      description: 'A toolkit under fuzzing.',
      logo: 'https://fuzz.example.com/logo.png',
      app_url: 'https://fuzz.example.com',
      docs_url: 'https://fuzz.example.com/docs',
      categories: [{ slug: 'testing', name: 'Testing' }],
      base_url: 'https://api.fuzz.example.com',
      auth_schemes: [
        {
          mode: 'API_KEY',
          name: 'Key',
          fields: {
            auth_config_creation: [],
            connected_account_initiation: [{ name: 'api_key', displayName: 'API key', type: 'string', description: 'The key.', required: true, is_secret: true }],
          },
        },
      ],
    };
  if (url.includes('webhook_subscriptions')) return { webhook_url: 'https://example.com/hook', enabled_events: ['composio.connected_account.created'] };
  if (url.includes('auth_configs')) return { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } };
  if (url.includes('link')) return { auth_config_id: ids.ac, user_id: 'u1' };
  if (url.includes('connected_accounts'))
    return { auth_config: { id: ids.ac }, connection: { user_id: 'u1', state: { authScheme: 'API_KEY', val: { api_key: 'k' } } }, alias: 'a' };
  return {};
}

/** Every string/key position of a JSON value, each replaced by `v` in turn. */
function* spoil(body: unknown, v: unknown, path: (string | number)[] = []): Generator<unknown> {
  if (body === null || typeof body !== 'object') {
    yield v;
    return;
  }
  const entries = Array.isArray(body) ? body.map((x, i) => [i, x] as const) : Object.entries(body);
  for (const [k, child] of entries) {
    for (const replaced of spoil(child, v, [...path, k])) {
      yield Array.isArray(body) ? body.map((x, i) => (i === k ? replaced : x)) : { ...(body as object), [k]: replaced };
    }
  }
}

function fillPath(url: string, value: string) {
  return url.replace(/:(\w+)/g, (_m, name: string) => {
    // A lone surrogate has no UTF-8 form: send the bytes a careless client would (CESU-8).
    if (value !== '') return /\p{Cs}/u.test(value) ? '%ED%A0%80' : encodeURIComponent(value);
    return name === 'id' ? (url.includes('auth_configs') ? ids.ac! : ids.ca!) : 'x';
  });
}

type Sent = { method: string; url: string; contentType?: string; body?: string };

function cases(method: string, url: string, random: () => number): Sent[] {
  const out: Sent[] = [];
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const valid = fillPath(url, '');
  // Path parameters and query strings.
  for (const s of HOSTILE_STRINGS.filter((x) => x.length < 1000)) out.push({ method, url: fillPath(url, s) });
  for (const s of ['%00', '%C0%80', '%FF', '%ud800', encodeURIComponent('a\u0007'), 'x'.repeat(5000)]) {
    out.push({ method, url: `${valid}?limit=${s}&cursor=${s}&user_ids=${s}&toolkit_slug=${s}&search=${s}&statuses=${s}` });
  }
  out.push({ method, url: `${valid}?limit=1e308&limit=-1&show_disabled=maybe` });
  if (method === 'GET' || method === 'DELETE') return out;
  // Bodies: malformed JSON, odd content types, deep nesting, and hostile values in every field.
  for (const body of ['{', '{"a":', 'null', '[]', '"str"', '1e99999', deep(5000), '{"a":"\\ud800"}', '{"a":"\\u0000"}', '\u0000']) {
    out.push({ method, url: valid, contentType: 'application/json', body });
  }
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/jsonx', '\u0007']) {
    out.push({ method, url: valid, contentType: ct, body: '{"a":1}' });
  }
  const base = baseBody(url);
  // Characters PostgreSQL cannot store, in every field in turn (a unique slug or user each time, so
  // a create that wrongly succeeded does not hide the next one behind a conflict).
  for (const v of ['a\u0000b', 'lone\ud800']) {
    for (const variant of spoil(base, v)) out.push({ method, url: valid, contentType: 'application/json', body: JSON.stringify(variant) });
  }
  for (let i = 0; i < 12; i++) {
    const v = pick(HOSTILE_VALUES);
    const variants = [...spoil(base, v)];
    if (variants.length) out.push({ method, url: valid, contentType: 'application/json', body: JSON.stringify(pick(variants)) });
  }
  return out;
}

describe('fuzzing every API route', () => {
  it('never answers 5xx, and every error is the envelope', async () => {
    const random = rng(20261202);
    const routes = ctx.app.apiRoutes.filter((r) => r.url.startsWith('/api/v3.1/'));
    expect(routes.length).toBeGreaterThan(15);
    const failures: string[] = [];
    let sent = 0;
    for (const r of routes) {
      for (const c of cases(r.method, r.url, random)) {
        const res = await ctx.app.inject({
          method: c.method as 'GET',
          url: c.url,
          headers: { 'x-api-key': ctx.apiKey, ...(c.contentType !== undefined ? { 'content-type': c.contentType } : {}) },
          ...(c.body !== undefined ? { payload: c.body } : {}),
        });
        sent++;
        const where = `${c.method} ${c.url.slice(0, 120)} [${c.contentType ?? ''}] ${String(c.body ?? '').slice(0, 120)} → ${res.statusCode}`;
        if (res.statusCode >= 500) failures.push(`${where} ${res.body.slice(0, 300)}`);
        if (res.statusCode >= 400) {
          let e: { status?: number; slug?: string; request_id?: string } | undefined;
          try {
            e = (JSON.parse(res.body) as { error?: typeof e }).error;
          } catch {
            e = undefined;
          }
          if (!e || e.status !== res.statusCode || !e.slug || e.request_id !== res.headers['x-request-id']) failures.push(`${where} not an envelope: ${res.body.slice(0, 200)}`);
        }
      }
    }
    expect(failures.slice(0, 20), `${failures.length} of ${sent}`).toEqual([]);
    expect(sent).toBeGreaterThan(500);
    // Nothing hostile was stored: PostgreSQL would have refused NUL, so a 2xx means it was clean.
    await ctx.app.inject({ method: 'GET', url: '/readyz' }).then((res) => expect(res.statusCode).toBe(200));
  }, 240_000);
});
