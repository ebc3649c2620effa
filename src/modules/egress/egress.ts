/**
 * The egress guard: every request Latchkey makes to a URL a project gave (a custom toolkit's OAuth
 * endpoints, webhook deliveries, the provider proxy) goes through one of these. See README.md.
 *
 * The check runs inside the connection itself: the agents' `createConnection` refuses an IP literal
 * and hands the socket a `lookup` that resolves the name once and refuses it when any answer is not
 * permitted. The addresses that were checked are the addresses the socket connects to, so a name
 * cannot answer a public address to a check and an internal one to the connection (no re-resolution).
 * Redirects are never followed: a 3xx comes back as the response, for the caller to treat as a failure.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { type EgressPolicy, addressKind, hostKind, permits, urlProblem } from './addresses.js';

export type ResolvedAddress = { address: string; family: number };
/** Name resolution; the system resolver unless one is given (where a test points a name at loopback). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type EgressOptions = EgressPolicy & {
  /** Per request, connection to last byte. */
  timeoutMs: number;
  resolve?: Resolver;
  /** Larger responses are cut off with an error (1 MiB unless given). */
  maxResponseBytes?: number;
  /**
   * Reuse connections (HTTP keep-alive). Safe: a connection is checked when it is opened, and a
   * reused one still goes to the address that was checked. Webhook deliveries use it (a new
   * connection per event was most of a delivery's cost to a busy receiver), and the proxy (a new
   * TLS connection per call costs two round trips to the provider and a handshake).
   */
  keepAlive?: boolean;
};

/**
 * An idle kept-alive connection is closed after this long (sooner when the server's Keep-Alive
 * header says so): before most servers close theirs (Node's 5 s, load balancers' 60 s), so that a
 * request seldom meets a connection its server is closing.
 */
export const IDLE_CONNECTION_MS = 4_000;

/** The only error the guard itself raises: the destination is not one this server calls. */
export class EgressRefusedError extends Error {
  constructor() {
    super('the URL resolves to an internal address');
    this.name = 'EgressRefusedError';
  }
}

export class ResponseTooLargeError extends Error {
  constructor() {
    super('the response is too large');
    this.name = 'ResponseTooLargeError';
  }
}

/** What `fetch` accepts: the subset of RequestInit outgoing calls use. */
export type EgressRequestInit = {
  method?: string;
  headers?: ConstructorParameters<typeof Headers>[0];
  body?: string | URLSearchParams | Uint8Array | ArrayBuffer | ReadableStream | null;
  signal?: AbortSignal | null;
};

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;
type ConnectOptions = { host?: string | null; lookup?: unknown };
type CreateConnection = (options: ConnectOptions, cb: (err: Error | null, socket?: Duplex) => void) => Duplex | undefined;

const defaultResolve: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export function createEgress(opts: EgressOptions) {
  const policy: EgressPolicy = { allowPrivate: opts.allowPrivate, allowLoopback: opts.allowLoopback };
  const resolve = opts.resolve ?? defaultResolve;
  const maxBytes = opts.maxResponseBytes ?? 1024 * 1024;
  const allowed = (ip: string) => permits(policy, addressKind(ip));

  /** A `lookup` for net/tls sockets: one resolution, every answer checked, the checked answers used. */
  function checkedLookup(hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) {
    resolve(hostname).then(
      (answers) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family) || 0;
        const usable = family ? answers.filter((a) => a.family === family) : answers;
        if (!answers.length || answers.some((a) => !allowed(a.address))) return callback(new EgressRefusedError() as NodeJS.ErrnoException, []);
        if (!usable.length) return callback(Object.assign(new Error(`no IPv${family} address`), { code: 'ENOTFOUND' }), []);
        if (options.all) return callback(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  }

  /** Wraps an agent's createConnection: IP literals are judged here (they skip lookup), names in the lookup. */
  function guard(agent: http.Agent) {
    const create = (agent as unknown as { createConnection: CreateConnection }).createConnection.bind(agent);
    (agent as unknown as { createConnection: CreateConnection }).createConnection = (options, cb) => {
      const host = String(options.host ?? '').replace(/^\[|\]$/g, '');
      // IP literals skip the lookup, and localhost-style names are refused whatever a resolver says.
      const kind = hostKind(host);
      if (kind && !permits(policy, kind)) {
        cb(new EgressRefusedError());
        return undefined;
      }
      return create({ ...options, lookup: checkedLookup }, cb);
    };
    return agent;
  }

  /** node:http(s) agents that check every connection they open; for callers that stream (the proxy). */
  const agentOptions = opts.keepAlive ? { keepAlive: true, timeout: IDLE_CONNECTION_MS } : { keepAlive: false };
  const agents = { http: guard(new http.Agent(agentOptions)), https: guard(new https.Agent(agentOptions)) };

  /**
   * A checked `fetch`: http(s) only, the response buffered (at most maxResponseBytes), the whole
   * exchange bounded by timeoutMs and by `init.signal`, redirects returned as they are.
   * Rejects with EgressRefusedError, a TimeoutError, ResponseTooLargeError or a network error.
   */
  async function egressFetch(input: string | URL, init: EgressRequestInit = {}): Promise<Response> {
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('only http(s) URLs can be fetched');
    const headers = new Headers(init.headers);
    let body: Buffer | undefined;
    if (typeof init.body === 'string') {
      // The common case (webhook envelopes, form and JSON bodies) without a Request round trip,
      // which cost 25 µs a call; the default type is the one fetch gives a string body.
      body = Buffer.from(init.body, 'utf8');
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      headers.set('content-length', String(body.length));
    } else if (init.body !== undefined && init.body !== null) {
      const prepared = new Request('http://body.invalid/', { method: 'POST', body: init.body, duplex: 'half' } as RequestInit);
      body = Buffer.from(await prepared.arrayBuffer());
      const type = prepared.headers.get('content-type');
      if (type && !headers.has('content-type')) headers.set('content-type', type);
      headers.set('content-length', String(body.length));
    }
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const https_ = url.protocol === 'https:';
    return new Promise<Response>((resolve, reject) => {
      const req = (https_ ? https : http).request(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers),
        agent: https_ ? agents.https : agents.http,
      });
      const stop = (err: unknown) => req.destroy(err as Error);
      const timer = setTimeout(() => stop(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), opts.timeoutMs);
      const onAbort = () => stop(signal?.reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      req.on('error', (err) => {
        done();
        reject(err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) stop(new ResponseTooLargeError());
          else chunks.push(c);
        });
        res.on('error', (err) => {
          done();
          reject(err);
        });
        res.on('close', () => {
          if (res.complete) return;
          done();
          reject(Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' }));
        });
        res.on('end', () => {
          done();
          const status = res.statusCode ?? 0;
          const out = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const empty = status === 204 || status === 205 || status === 304 || (init.method ?? 'GET').toUpperCase() === 'HEAD';
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: out }));
        });
      });
      req.end(body);
    });
  }

  return {
    policy,
    /** Save-time check of a URL as written; the reason, to be prefixed with the field's name. */
    check: (url: string) => urlProblem(url, policy),
    fetch: egressFetch,
    agents,
    lookup: checkedLookup,
  };
}

export type Egress = ReturnType<typeof createEgress>;
