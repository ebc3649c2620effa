/**
 * A binary response kept by the proxy for download, made the real way: a provider on loopback that
 * answers `bytes`, a custom toolkit pointing at it, an API-key account, and one proxied call. The
 * context's app must allow private addresses (EGRESS_ALLOW_PRIVATE_ADDRESSES), as loopback is one.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { TestContext } from './context.js';

const V = '/api/v3.1';

export async function proxiedFile(ctx: Pick<TestContext, 'http' | 'apiKey'>, bytes: Buffer): Promise<{ id: string; path: string }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (path: string, body: object) => ctx.http.post(`${V}${path}`).set('x-api-key', ctx.apiKey).send(body);
  try {
    const slug = `files${randomBytes(4).toString('hex')}`;
    const toolkit = await post('/custom_toolkits', {
      slug,
      name: slug,
      description: 'A provider on loopback answering bytes.',
      logo: `${url}/logo.svg`,
      app_url: url,
      docs_url: url,
      categories: [{ slug: 'testing', name: 'Testing' }],
      base_url: url,
      auth_schemes: [
        {
          mode: 'API_KEY',
          name: 'Key',
          fields: {
            auth_config_creation: [],
            connected_account_initiation: [{ name: 'api_key', displayName: 'api_key', type: 'string', description: 'The key.', required: true, is_secret: true }],
          },
          request_auth: [{ in: 'header', name: 'X-Api-Key', value: '{{api_key}}' }],
        },
      ],
    });
    expect(toolkit.status, JSON.stringify(toolkit.body)).toBe(201);
    const cfg = await post('/auth_configs', { toolkit: { slug }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } });
    expect(cfg.status, JSON.stringify(cfg.body)).toBe(201);
    const acc = await post('/connected_accounts', {
      auth_config: { id: cfg.body.auth_config.id },
      connection: { user_id: 'files-user', state: { authScheme: 'API_KEY', val: { api_key: 'files-key' } } },
    });
    expect(acc.status, JSON.stringify(acc.body)).toBe(201);
    const res = await post('/tools/execute/proxy', { connected_account_id: acc.body.id, endpoint: '/download', method: 'GET' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const path = new URL(res.body.binary_data.url as string).pathname;
    return { id: path.split('/').pop()!, path };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/** Downloads a file through the API: its status, content type and exact bytes. */
export async function download(ctx: Pick<TestContext, 'http' | 'apiKey'>, path: string) {
  const res = await ctx.http
    .get(path)
    .set('x-api-key', ctx.apiKey)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  return { status: res.status, contentType: res.headers['content-type'], bytes: Buffer.from(res.body as Buffer) };
}
