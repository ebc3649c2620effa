/**
 * The egress guard over real sockets and through the API: custom toolkits whose server-called OAuth
 * endpoints point at internal addresses are refused when saved; a name that resolves to loopback
 * when dialled is refused before any connection; a redirect is never followed. Receivers are real
 * servers on 127.0.0.1 that count every connection they accept, so "never reached" is observed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressRefusedError, IDLE_CONNECTION_MS, type Resolver, createEgress } from '../src/modules/egress/egress.js';
import { acmeToolkit } from './support/oauth-app.js';
import { type TestContext, createTestContext } from './support/context.js';
import { expectEnvelope } from './support/expect.js';

const V = '/api/v3.1';
const CALLBACK = '/api/v3/toolkits/auth/callback';
const CLIENT = { client_id: 'egress-client', client_secret: 'egress-client-secret-5a4b3c' };

type Target = { port: number; url: string; connections: number; requests: string[]; close: () => Promise<void> };

/** An HTTP server on 127.0.0.1 that records connections and requests and answers with `handler`. */
async function target(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, s) => s.end('ok')): Promise<Target> {
  const t = { connections: 0, requests: [] as string[] } as Target;
  const server = http.createServer((req, res) => {
    t.requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  server.on('connection', () => t.connections++);
  // Idle connections kept a minute, as load balancers do: closing them is the client's part.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as AddressInfo).port;
  t.url = `http://127.0.0.1:${t.port}`;
  t.close = () => new Promise<void>((r) => server.close(() => r()));
  return t;
}

/** A resolver where `evil.test` (and its subdomains) answer 127.0.0.1 and `public.test` a public address. */
const resolveHost: Resolver = async (name) => {
  if (name === 'evil.test' || name.endsWith('.evil.test')) return [{ address: '127.0.0.1', family: 4 }];
  if (name === 'mixed.test') return [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.7', family: 4 }];
  if (name === 'public.test') return [{ address: '93.184.215.14', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
};

const targets: Target[] = [];
const newTarget = async (...a: Parameters<typeof target>) => {
  const t = await target(...a);
  targets.push(t);
  return t;
};
afterAll(async () => {
  await Promise.all(targets.map((t) => t.close()));
});

describe('the checked fetch (dial time)', () => {
  const strict = createEgress({ allowPrivate: false, allowLoopback: false, timeoutMs: 2000, resolve: resolveHost });

  it('refuses a name that resolves to loopback, or to any internal address among its answers; nothing is connected to', async () => {
    const t = await newTarget();
    for (const host of ['evil.test', 'api.evil.test', 'mixed.test']) {
      await expect(strict.fetch(`http://${host}:${t.port}/x`, { method: 'POST', body: 'secret=1' }), host).rejects.toBeInstanceOf(EgressRefusedError);
    }
    expect(t.connections).toBe(0);
  });

  it('refuses IP literals in every notation without resolving them; nothing is connected to', async () => {
    const t = await newTarget();
    for (const host of ['127.0.0.1', '2130706433', '0x7f.1', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', 'localhost']) {
      await expect(strict.fetch(`http://${host}:${t.port}/x`), host).rejects.toBeInstanceOf(EgressRefusedError);
    }
    expect(t.connections).toBe(0);
  });

  it('allows loopback only with allowLoopback, everything with allowPrivate; the checked address is the one dialled', async () => {
    const t = await newTarget((req, res) => res.writeHead(201, { 'x-seen': req.headers.host ?? '' }).end('made'));
    for (const policy of [{ allowLoopback: true, allowPrivate: false }, { allowLoopback: false, allowPrivate: true }]) {
      const egress = createEgress({ ...policy, timeoutMs: 2000, resolve: resolveHost });
      // evil.test answers 127.0.0.1 to the guard, and that is where the connection goes.
      const res = await egress.fetch(`http://evil.test:${t.port}/ok`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
      expect(res.status).toBe(201);
      expect(await res.text()).toBe('made');
      expect(res.headers.get('x-seen')).toBe(`evil.test:${t.port}`);
    }
    expect(t.requests).toEqual(['POST /ok', 'POST /ok']);
    const loopbackOnly = createEgress({ allowLoopback: true, allowPrivate: false, timeoutMs: 2000, resolve: resolveHost });
    await expect(loopbackOnly.fetch(`http://mixed.test:${t.port}/x`)).rejects.toBeInstanceOf(EgressRefusedError);
  });

  it('sends bodies as fetch would: a string as UTF-8 with its length and fetch\'s default type unless one is given; a form as a form', async () => {
    const seen: { type?: string; length?: string; body: string }[] = [];
    const t = await newTarget((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ type: req.headers['content-type'], length: req.headers['content-length'], body: Buffer.concat(chunks).toString('utf8') });
        res.end();
      });
    });
    const egress = createEgress({ allowLoopback: true, allowPrivate: false, timeoutMs: 2000 });
    await egress.fetch(`${t.url}/a`, { method: 'POST', body: 'naïve ✓' });
    await egress.fetch(`${t.url}/b`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"é"}' });
    await egress.fetch(`${t.url}/c`, { method: 'POST', body: new URLSearchParams({ a: 'é' }) });
    expect(seen).toEqual([
      { type: 'text/plain;charset=UTF-8', length: String(Buffer.byteLength('naïve ✓')), body: 'naïve ✓' },
      { type: 'application/json', length: String(Buffer.byteLength('{"a":"é"}')), body: '{"a":"é"}' },
      { type: 'application/x-www-form-urlencoded;charset=UTF-8', length: '8', body: 'a=%C3%A9' },
    ]);
  });

  it('does not follow redirects: the 3xx is the answer, and its target sees nothing', async () => {
    const inside = await newTarget();
    const redirector = await newTarget((_q, s) => s.writeHead(302, { location: `${inside.url}/latest/meta-data` }).end());
    const egress = createEgress({ allowPrivate: true, allowLoopback: false, timeoutMs: 2000 });
    const res = await egress.fetch(`${redirector.url}/token`, { method: 'POST', body: 'x=1' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${inside.url}/latest/meta-data`);
    expect(inside.connections).toBe(0);
  });

  it('bounds a request by its timeout', async () => {
    const slow = await newTarget((_q, s) => void setTimeout(() => s.end('late'), 3000));
    const egress = createEgress({ allowPrivate: true, allowLoopback: false, timeoutMs: 200 });
    await expect(egress.fetch(`${slow.url}/slow`)).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('keeps connections alive: reused while in use, closed once idle for IDLE_CONNECTION_MS, and a slower answer still arrives', async () => {
    const egress = createEgress({ allowPrivate: true, allowLoopback: false, timeoutMs: IDLE_CONNECTION_MS * 3, keepAlive: true });
    const busy = await newTarget();
    const slow = await newTarget((_q, s) => void setTimeout(() => s.end('late'), IDLE_CONNECTION_MS + 500));
    const reuse = async () => {
      for (let i = 0; i < 3; i++) expect(await (await egress.fetch(`${busy.url}/r${i}`)).text()).toBe('ok');
      expect(busy.connections).toBe(1);
      await new Promise((r) => setTimeout(r, IDLE_CONNECTION_MS + 500));
      expect(await (await egress.fetch(`${busy.url}/after-idle`)).text()).toBe('ok');
      expect(busy.connections).toBe(2);
    };
    const late = async () => expect(await (await egress.fetch(`${slow.url}/late`)).text()).toBe('late');
    await Promise.all([reuse(), late()]);
  }, 20_000);
});

describe('custom toolkits (save time and dial time)', () => {
  let ctx: TestContext;
  let open: TestContext;
  let loopbackOk: TestContext;

  beforeAll(async () => {
    [ctx, open, loopbackOk] = await Promise.all([
      createTestContext({ resolveHost, config: { publicUrl: 'http://latchkey.test' } }),
      createTestContext({ config: { EGRESS_ALLOW_PRIVATE_ADDRESSES: true } }),
      createTestContext({ config: { OAUTH_ALLOW_INSECURE_LOOPBACK: true } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([ctx, open, loopbackOk].map((c) => c?.close()));
  });

  const withEndpoints = (slug: string, oauth2: Record<string, string>) => {
    const def = acmeToolkit('https://auth.example.com');
    def.slug = slug;
    Object.assign(def.auth_schemes[0]!.oauth2, oauth2);
    return def;
  };
  const post = (c: TestContext, body: object) => c.http.post(`${V}/custom_toolkits`).set('x-api-key', c.apiKey).send(body);

  const INTERNAL_HOSTS = [
    '127.0.0.1', '127.1', '2130706433', '0x7f.1', '0177.0.0.1', 'localhost', 'api.localhost.', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]',
    '10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '[fd00:ec2::254]', '[fe80::1]', '[fc00::1]',
    '[64:ff9b::a9fe:a9fe]', '[2002:a9fe:a9fe::]', '224.0.0.1', '198.18.0.1', 'metadata.google.internal',
  ];

  it('refuses token and revocation URLs on any internal address with a 400 naming the field', async () => {
    let n = 0;
    for (const host of INTERNAL_HOSTS) {
      for (const field of ['token_url', 'revocation_url'] as const) {
        const res = await post(ctx, withEndpoints(`internal_${++n}`, { [field]: `https://${host}/oauth/${field}` }));
        const e = expectEnvelope(res, 400, 'Toolkit_InvalidDefinition');
        expect(e.message, `${host} ${field}`).toContain(`auth_schemes.0.oauth2.${field} must not point at`);
        expect(e.errors).toEqual([expect.stringContaining(`auth_schemes.0.oauth2.${field}`)]);
      }
    }
    expect((await ctx.http.get(`${V}/toolkits?type=custom`).set('x-api-key', ctx.apiKey).expect(200)).body.total_items).toBe(0);
  });

  it('refuses the same on replace, and checks the literal part of templated hosts', async () => {
    await post(ctx, withEndpoints('replaced', {})).expect(201);
    const put = (body: object) => ctx.http.put(`${V}/custom_toolkits/replaced`).set('x-api-key', ctx.apiKey).send(body);
    expectEnvelope(await put(withEndpoints('replaced', { token_url: 'https://169.254.169.254/token' })), 400, 'Toolkit_InvalidDefinition');
    const templated = withEndpoints('replaced', { token_url: 'https://10.0.0.{{n}}/token' });
    templated.auth_schemes[0]!.fields.connected_account_initiation = [
      { name: 'n', displayName: 'n', type: 'string', description: 'The n.', required: true, is_secret: false, pattern: '^[0-9]{1,3}$' } as never,
    ];
    expectEnvelope(await put(templated), 400, 'Toolkit_InvalidDefinition');
    templated.auth_schemes[0]!.oauth2!.token_url = 'https://{{n}}.auth.example.com/token';
    await put(templated).expect(200);
  });

  it('accepts them all with EGRESS_ALLOW_PRIVATE_ADDRESSES, and loopback alone with OAUTH_ALLOW_INSECURE_LOOPBACK', async () => {
    let n = 0;
    for (const host of INTERNAL_HOSTS) {
      const res = await post(open, withEndpoints(`open_${++n}`, { token_url: `https://${host}/token`, revocation_url: `https://${host}/revoke` }));
      expect({ host, status: res.status }).toEqual({ host, status: 201 });
    }
    await post(loopbackOk, withEndpoints('lo_1', { token_url: 'http://127.0.0.1:9/token', revocation_url: 'http://[::1]:9/revoke' })).expect(201);
    await post(loopbackOk, withEndpoints('lo_2', { token_url: 'http://localhost:9/token' })).expect(201);
    expectEnvelope(await post(loopbackOk, withEndpoints('lo_3', { token_url: 'https://10.0.0.1/token' })), 400, 'Toolkit_InvalidDefinition');
  });

  it('the authorize URL (visited by the browser, never by Latchkey) is not an egress destination', async () => {
    await post(ctx, withEndpoints('intranet_authorize', { authorization_url: 'https://10.1.2.3/authorize' })).expect(201);
  });

  /** A custom toolkit with the given endpoints, an auth config and an INITIATED account: the callback query to use. */
  async function initiated(c: TestContext, slug: string, oauth2: Record<string, string>) {
    await post(c, withEndpoints(slug, oauth2)).expect(201);
    const cfg = await c.http
      .post(`${V}/auth_configs`)
      .set('x-api-key', c.apiKey)
      .send({ toolkit: { slug }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: CLIENT } })
      .expect(201);
    const acc = await c.http
      .post(`${V}/connected_accounts`)
      .set('x-api-key', c.apiKey)
      .send({ auth_config: { id: cfg.body.auth_config.id }, connection: { user_id: 'u1' } });
    expect(acc.status, JSON.stringify(acc.body)).toBe(201);
    const state = new URL(acc.body.redirect_url as string).searchParams.get('state')!;
    return { id: acc.body.id as string, query: `code=the-code&state=${encodeURIComponent(state)}` };
  }

  const account = async (c: TestContext, id: string) =>
    (await c.http.get(`${V}/connected_accounts/${id}`).set('x-api-key', c.apiKey).expect(200)).body as {
      status: string;
      status_reason: string | null;
      state: { val: Record<string, unknown> };
    };

  it('a token host that resolves to loopback when dialled is refused at the callback: FAILED with a reason, the receiver never reached', async () => {
    const receiver = await newTarget((_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"stolen","token_type":"bearer"}'));
    const { id, query } = await initiated(ctx, 'evil', { authorization_url: 'https://auth.example.com/authorize', token_url: `https://evil.test:${receiver.port}/token` });
    const page = await ctx.http.get(`${CALLBACK}?${query}`);
    expect(page.text).toContain('Connection failed');
    const a = await account(ctx, id);
    expect(a.status).toBe('FAILED');
    expect(a.status_reason).toBe('OAuth callback failed during token exchange');
    expect(a.state.val).toMatchObject({ error: 'egress_refused', error_description: expect.stringMatching(/does not call/) });
    expect(receiver.connections).toBe(0);
    const logs = ctx.logs();
    expect(logs).toContain('egress_refused');
    for (const secret of [CLIENT.client_secret, 'the-code']) expect(logs).not.toContain(secret);
    expect(JSON.stringify(a)).not.toContain(CLIENT.client_secret);
  });

  it('a token endpoint answering 302 to an internal address is not followed: FAILED, the target never reached', async () => {
    const inside = await newTarget((_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","token_type":"bearer"}'));
    const redirector = await newTarget((_q, s) => s.writeHead(302, { location: `${inside.url}/latest/meta-data/iam` }).end());
    const { id, query } = await initiated(loopbackOk, 'redirecting', { authorization_url: `${redirector.url}/authorize`, token_url: `${redirector.url}/token` });
    expect((await loopbackOk.http.get(`${CALLBACK}?${query}`)).text).toContain('Connection failed');
    const a = await account(loopbackOk, id);
    expect(a).toMatchObject({ status: 'FAILED', status_reason: 'OAuth callback failed during token exchange', state: { val: { error: 'http_302' } } });
    expect(redirector.requests).toEqual(['POST /token']);
    expect(inside.connections).toBe(0);
  });
});
