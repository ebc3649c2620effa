/**
 * A provider's API for proxy tests: a small node:http server on 127.0.0.1 that shows what reached
 * it (method, path, query, headers, body) and can answer statuses, text, bytes, slowly, or in
 * pieces held back until the test releases them. It counts the connections opened to it, and can
 * drop a kept-alive connection as a request arrives on it.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Seen = { method: string; path: string; query: Record<string, string>; headers: Record<string, string | string[] | undefined>; body: string };

export type ProviderApi = Awaited<ReturnType<typeof startProviderApi>>;

export async function startProviderApi(opts: { authorize?: (req: IncomingMessage) => boolean } = {}) {
  const seen: Seen[] = [];
  let release: () => void = () => undefined;
  let held = new Promise<void>((r) => (release = r));
  let streamFinished = false;

  // Connections opened to it, requests each has carried, and how many reused ones to drop.
  let connections = 0;
  const served = new WeakMap<object, number>();
  let dropReused = 0;

  const server = http.createServer((req, res: ServerResponse) => {
    const before = served.get(req.socket) ?? 0;
    served.set(req.socket, before + 1);
    if (before > 0 && dropReused > 0) {
      // As a server closing an idle kept-alive connection while the request is on its way.
      dropReused--;
      return req.socket.destroy();
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: body.length > 10_000 ? `<${body.length} bytes>` : body.toString('utf8') });
      if (opts.authorize && url.pathname.includes('/me') && !opts.authorize(req)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' });
        return res.end(JSON.stringify({ error: 'invalid_token' }));
      }
      const tail = url.pathname.replace(/^\/v1/, '');
      const status = /^\/status\/(\d{3})$/.exec(tail);
      if (status) {
        res.writeHead(Number(status[1]), { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ problem: `answered ${status[1]}` }));
      }
      switch (tail) {
        case '/text':
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          return res.end('plain words');
        case '/bin':
          res.writeHead(200, { 'content-type': 'image/png' });
          return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]));
        case '/slow':
          return; // never answers
        case '/big': {
          const n = Number(url.searchParams.get('bytes'));
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return res.end(Buffer.alloc(n, 1));
        }
        case '/cookies':
          res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=provider-secret', connection: 'x-hop', 'x-hop': 'dropped', 'keep-alive': 'timeout=5', 'x-kept': 'yes' });
          return res.end('{"ok":true}');
        case '/stream': {
          // A first piece at once, the rest (several MB) only after the test releases it.
          const size = Number(url.searchParams.get('mb') ?? '6') * 1024 * 1024;
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.write(Buffer.alloc(64 * 1024, 7));
          void held.then(async () => {
            const piece = Buffer.alloc(256 * 1024, 7);
            for (let sent = 64 * 1024; sent < size; sent += piece.length) {
              if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
            }
            streamFinished = true;
            res.end();
          });
          return;
        }
        default:
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ ok: true, method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: body.toString('utf8') }));
      }
    });
  });
  server.on('connection', () => void connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    last: () => seen[seen.length - 1]!,
    /** Let a held /stream response send the rest of its body. */
    release: () => release(),
    streamFinished: () => streamFinished,
    /** Connections opened to the provider so far. */
    connections: () => connections,
    /** The next `n` requests that arrive on a connection already used are dropped with it, unanswered. */
    dropReused: (n: number) => void (dropReused = n),
    rearm: () => {
      streamFinished = false;
      held = new Promise<void>((r) => (release = r));
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
