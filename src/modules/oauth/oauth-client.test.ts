import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressRefusedError } from '../egress/egress.js';
import { classify, jsonTokenResponses } from './oauth-client.js';

const viaFetch = jsonTokenResponses((url, init) => fetch(url, init as RequestInit));

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/form') {
      res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
      res.end('access_token=gho_abc&token_type=bearer&scope=repo%2Cuser&expires_in=3600');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"access_token":"x","token_type":"Bearer"}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('token responses', () => {
  it('turns a form-encoded token response into JSON (providers that ignore Accept)', async () => {
    const res = await viaFetch(`${base}/form`, { method: 'POST', headers: {}, body: '', redirect: 'manual' } as never);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ access_token: 'gho_abc', token_type: 'bearer', scope: 'repo,user', expires_in: 3600 });
  });

  it('passes JSON through untouched', async () => {
    const res = await viaFetch(`${base}/json`, { method: 'POST', headers: {}, body: '', redirect: 'manual' } as never);
    expect(await res.json()).toEqual({ access_token: 'x', token_type: 'Bearer' });
  });

  it('classifies network failures as transient', () => {
    expect(classify(new TypeError('fetch failed')).kind).toBe('transient');
  });

  it('names a refused destination, whether thrown as is or wrapped by openid-client, and says nothing else', () => {
    for (const err of [new EgressRefusedError(), new Error('wrapped', { cause: new EgressRefusedError() })]) {
      const p = classify(err);
      expect(p).toMatchObject({ kind: 'transient', error: 'egress_refused' });
      expect(p.description).toMatch(/does not call/);
    }
  });
});
