import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearConfig } from './support/factories.js';
import { type TestContext, createTestContext } from './support/context.js';
import { expectEnvelope } from './support/expect.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({
    beforeReady: (app) => {
      // A route that fails the way a bug would: the client must learn nothing of it.
      app.get('/boom', async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
      });
    },
  });
});
afterAll(() => ctx.close());


describe('error envelope', () => {
  it('404 for an unknown route', async () => {
    const res = await ctx.http.get('/api/v3.1/nope').set('x-api-key', ctx.apiKey);
    expectEnvelope(res, 404, 'Route_NotFound');
    expectEnvelope(await ctx.http.get('/nothing-here'), 404, 'Route_NotFound');
  });

  it('400 for malformed JSON', async () => {
    const res = await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .set('content-type', 'application/json')
      .send('{"slug": ');
    expectEnvelope(res, 400, 'Request_MalformedJson');
  });

  it('400 with the field problems listed for wrong types', async () => {
    const res = await ctx.http.post('/api/v3.1/custom_toolkits').set('x-api-key', ctx.apiKey).send({ slug: 12, name: [] });
    expectEnvelope(res, 400, 'Request_ValidationError');
    expect(res.body.error.errors!.join('\n')).toMatch(/slug/);
  });

  it('415 for a content type that is not JSON', async () => {
    const res = await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .set('content-type', 'text/plain')
      .send('hello');
    expectEnvelope(res, 415, 'Request_UnsupportedMediaType');
  });

  it('413 for a body over the limit', async () => {
    const res = await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .send({ slug: 'big', description: 'x'.repeat(100 * 1024) });
    expectEnvelope(res, 413, 'Request_BodyTooLarge');
  });

  it('500 with no internals for an unexpected failure', async () => {
    const res = await ctx.http.get('/boom');
    expectEnvelope(res, 500, 'Internal_ServerError');
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|hunter2|10\.0\.0\.7|stack/);
    expect(ctx.logs()).not.toContain('hunter2'.repeat(2));
  });

  it('sends x-request-id on every response, keeping a well-formed one from the caller', async () => {
    const ok = await ctx.http.get('/healthz');
    expect(ok.headers['x-request-id']).toMatch(/^req_/);
    const given = await ctx.http.get('/healthz').set('x-request-id', 'trace-123');
    expect(given.headers['x-request-id']).toBe('trace-123');
    const bad = await ctx.http.get('/healthz').set('x-request-id', '<script>'.repeat(30));
    expect(bad.headers['x-request-id']).toMatch(/^req_/);
  });
});

/** A toolkit definition that passes validation, for tests that spoil one field of it. */
const validToolkit = () => ({
  slug: 'nulcheck',
  name: 'Nul Check',
  description: 'A toolkit for checking input.',
  logo: 'https://nul.example.com/logo.png',
  app_url: 'https://nul.example.com',
  docs_url: 'https://nul.example.com/docs',
  categories: [{ slug: 'testing', name: 'Testing' }],
  base_url: 'https://api.nul.example.com',
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
});

describe('characters PostgreSQL cannot store are a 400', () => {
  it('NUL, control characters and lone surrogates in a custom toolkit, anywhere, name the field', async () => {
    for (const bad of ['Nul\u0000Check', 'bell\u0007', 'half \ud800 pair']) {
      const res = await ctx.http.post('/api/v3.1/custom_toolkits').set('x-api-key', ctx.apiKey).send({ ...validToolkit(), name: bad });
      expectEnvelope(res, 400, 'Request_ValidationError');
      expect(res.body.error.errors!.join('\n')).toMatch(/body\.name/);
    }
    const deep = validToolkit();
    deep.auth_schemes[0]!.fields.connected_account_initiation[0]!.description = 'The\u0000key.';
    const res = await ctx.http.post('/api/v3.1/custom_toolkits').set('x-api-key', ctx.apiKey).send(deep);
    expectEnvelope(res, 400, 'Request_ValidationError');
    // Newlines and tabs are ordinary text.
    const ok = await ctx.http.post('/api/v3.1/custom_toolkits').set('x-api-key', ctx.apiKey).send({ ...validToolkit(), description: 'Line one\n\tline two' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  it('an escaped \\u0000 in JSON connection fields, user ids, aliases and keys is refused before the database', async () => {
    const configId = await linearConfig(ctx);
    const body = (userId: string, val: Record<string, unknown>) =>
      `{"auth_config":{"id":"${configId}"},"connection":{"user_id":${JSON.stringify(userId)},"state":{"authScheme":"API_KEY","val":${JSON.stringify(val)}}}}`;
    for (const raw of [
      body('user\u0000one', { api_key: 'k' }),
      body('user-one', { api_key: 'k\u0000' }),
      body('user-one', { api_key: 'k', 'odd\u0000key': 'v' }),
      body('user-one', { api_key: 'k', nested: { deeper: ['\u0000'] } }),
    ]) {
      expect(raw).toContain('\\u0000');
      const res = await ctx.http.post('/api/v3.1/connected_accounts').set('x-api-key', ctx.apiKey).set('content-type', 'application/json').send(raw);
      expectEnvelope(res, 400, 'Request_ValidationError');
    }
    const created = await ctx.http.post('/api/v3.1/connected_accounts').set('x-api-key', ctx.apiKey).set('content-type', 'application/json').send(body('user-one', { api_key: 'k' }));
    expect(created.status).toBe(201);
    const alias = await ctx.http.patch(`/api/v3.1/connected_accounts/${created.body.id}`).set('x-api-key', ctx.apiKey).send({ alias: 'a\u0000' });
    expectEnvelope(alias, 400, 'Request_ValidationError');
    const query = await ctx.http.get('/api/v3.1/connected_accounts?user_ids=a%00b').set('x-api-key', ctx.apiKey);
    expectEnvelope(query, 400, 'Request_ValidationError');
  });
});

/** Sends raw bytes to the server and reads until it closes the connection. */
async function raw(port: number, bytes: string, halfClose = false): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    const sock = net.connect(port, '127.0.0.1', () => (halfClose ? sock.end(bytes) : sock.write(bytes)));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', (err) => (out ? resolve(out) : reject(err)));
    sock.setTimeout(10_000, () => sock.destroy(new Error(`no answer; got ${out}`)));
  });
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as unknown };
}

describe('malformed HTTP gets an HTTP answer in the envelope', () => {
  let port: number;
  beforeAll(async () => {
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    port = (ctx.app.server.address() as net.AddressInfo).port;
  });

  it('431 for headers over the size limit', async () => {
    const res = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectEnvelope(res, 431, 'Request_HeadersTooLarge');
  });

  it('400 for a malformed request line and for bad framing', async () => {
    expectEnvelope(await raw(port, 'THIS IS NOT HTTP\r\n\r\n'), 400, 'Request_ValidationError');
    expectEnvelope(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'), 400, 'Request_ValidationError');
    expectEnvelope(await raw(port, 'GET /he\u0000althz HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'Request_ValidationError');
    expectEnvelope(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n'), 400, 'Request_ValidationError');
  });

  it('400, not 415, for a body shorter than its content-length', async () => {
    const res = await raw(
      port,
      `POST /api/v3.1/custom_toolkits HTTP/1.1\r\nHost: x\r\nx-api-key: ${ctx.apiKey}\r\ncontent-type: application/json\r\ncontent-length: 10\r\nconnection: close\r\n\r\n{}`,
      true,
    );
    // The server waits for the rest of the body until the client half-closes; then the length is wrong.
    expectEnvelope(res, 400, 'Request_ValidationError');
  });
});
