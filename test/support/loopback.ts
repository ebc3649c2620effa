/**
 * A small HTTP server on 127.0.0.1 for protocol tests: a request handler gets the parsed request
 * (path, query, headers, raw body, form or JSON fields) and writes the answer. Every request is
 * recorded so tests can look at exactly what a client sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type LoopbackRequest = {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
  form: Record<string, string>;
  json: Record<string, unknown> | undefined;
};

export type Answer = { status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number };

export type Loopback = { url: string; requests: LoopbackRequest[]; close: () => Promise<void> };

export async function startLoopback(handle: (req: LoopbackRequest, base: string) => Answer | Promise<Answer>): Promise<Loopback> {
  const requests: LoopbackRequest[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const type = req.headers['content-type'] ?? '';
      let json: Record<string, unknown> | undefined;
      if (type.includes('json') && body) {
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
      }
      const parsed: LoopbackRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', base),
        headers: req.headers,
        body,
        form: type.includes('x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : {},
        json,
      };
      requests.push(parsed);
      void Promise.resolve(handle(parsed, base)).then((a) => {
        const write = () => {
          if (res.destroyed) return;
          const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
          const headers = { ...(typeof a.body === 'object' ? { 'content-type': 'application/json' } : {}), ...a.headers };
          res.writeHead(a.status, headers);
          res.end(text);
        };
        if (a.delayMs) setTimeout(write, a.delayMs);
        else write();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Options every auth-mode call takes in tests: plain fetch on loopback, a short timeout. */
export const loopbackHttp = (timeoutMs = 2000) => ({ fetch: (url: string, init: RequestInit) => fetch(url, init), timeoutMs, allowInsecureLoopback: true });
