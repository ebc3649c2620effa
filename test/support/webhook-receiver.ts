/**
 * A loopback webhook receiver for tests: records every request (headers and the exact raw body) and
 * answers each with a scripted status, optionally after a delay (to provoke the sender's timeout).
 * Replies come, in order of precedence, from `respond` (a function of the request), the queue filled
 * by `reply(...)`, or the default status (200).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body exactly as received (the signature covers these bytes). */
  body: string;
  /** When the request's body had fully arrived (ms since the epoch). */
  at: number;
  /** When the answer was written (ms since the epoch); undefined until then. */
  answeredAt?: number;
};

export type Reply = number | { status: number; delayMs?: number };

export type Receiver = {
  url: string;
  received: Received[];
  /** Queues replies for the next requests, in order. */
  reply: (...replies: Reply[]) => void;
  /** The reply when nothing else decides (200 unless changed). */
  setDefault: (reply: Reply) => void;
  /** Decides the reply from the request; return undefined to fall back to the queue or default. */
  respond: (fn: ((r: Received, index: number) => Reply | undefined) | undefined) => void;
  /** Parsed JSON bodies, in arrival order. */
  bodies: () => Array<{ id: string; timestamp: string; type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }>;
  close: () => Promise<void>;
};

export async function startReceiver(path = '/hooks/latchkey'): Promise<Receiver> {
  const received: Received[] = [];
  const queue: Reply[] = [];
  let fallback: Reply = 200;
  let decide: ((r: Received, index: number) => Reply | undefined) | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = received.push(r) - 1;
      const chosen = decide?.(r, index) ?? queue.shift() ?? fallback;
      const { status, delayMs = 0 } = typeof chosen === 'number' ? { status: chosen } : chosen;
      const answer = () => {
        r.answeredAt = Date.now();
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 200 && status < 300 ? 'ok' : 'no');
      };
      if (delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, delayMs);
        timers.add(t);
      } else answer();
    });
    res.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    reply: (...replies) => void queue.push(...replies),
    setDefault: (reply) => void (fallback = reply),
    respond: (fn) => void (decide = fn),
    bodies: () => received.map((r) => JSON.parse(r.body) as ReturnType<Receiver['bodies']>[number]),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
