/**
 * The proxy's HTTP mechanics, with no knowledge of accounts: one request to a provider through the
 * egress guard's agents, hop-by-hop headers dropped both ways, the response bounded in size and
 * time, and failures turned into Latchkey's own errors (the provider's own answers are never errors
 * here: a 401 or a 503 from the provider is a response).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { AppError } from '../../lib/errors.js';
import { type Egress, EgressRefusedError } from '../egress/egress.js';

/** RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies also drop. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade']);

/** Hop-by-hop names for this message: the fixed ones and any the `Connection` header lists. */
export function hopByHop(headers: IncomingHttpHeaders): Set<string> {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return new Set([...HOP_BY_HOP, ...named]);
}

/** The provider's response headers as passed back: no hop-by-hop headers, no cookies. */
export function responseHeaders(res: IncomingMessage): Record<string, string> {
  const drop = hopByHop(res.headers);
  drop.add('set-cookie');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined || drop.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export type UpstreamRequest = {
  url: URL;
  method: string;
  headers: Record<string, string>;
  /** Bytes (replayable) or a stream (sent once). */
  body?: Buffer | Readable;
  timeoutMs: number;
};

/** Turns a failure to reach the provider into Latchkey's answer; AppErrors pass through. */
export function upstreamError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof EgressRefusedError) {
    return new AppError('Proxy_DestinationRefused', "The provider's host resolves to an internal address; Latchkey does not call it");
  }
  if ((err as Error)?.name === 'TimeoutError') return new AppError('Proxy_UpstreamTimeout', 'The provider did not answer in time');
  return new AppError('Proxy_UpstreamUnreachable', 'The provider could not be reached', { suggestedFix: 'Retry later' });
}

const timeoutError = () => Object.assign(new Error('timed out'), { name: 'TimeoutError' });

/** RFC 9110 §9.2.2: methods a client may send again when it cannot tell whether the first arrived. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * A reused connection that failed as the request went out: most likely the provider closed it while
 * idle, but whether the request reached the provider cannot be told.
 */
class ClosedConnectionError extends Error {
  constructor(readonly original: unknown) {
    super('the provider closed a kept-alive connection');
  }
}

/**
 * Sends one request and resolves with the response once its headers arrive. Connections are kept
 * alive (the egress guard's agents): when the provider closed the reused one as the request went
 * out, an idempotent request with a replayable body is sent again, on another connection; any
 * other request fails as unreachable (it may have reached the provider).
 */
export async function send(egress: Egress, r: UpstreamRequest): Promise<IncomingMessage> {
  const replayable = IDEMPOTENT.has(r.method.toUpperCase()) && (r.body === undefined || Buffer.isBuffer(r.body));
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendOnce(egress, r);
    } catch (err) {
      if (!(err instanceof ClosedConnectionError)) throw err;
      // Each closed connection leaves the pool; past a few, the provider is refusing, not idling out.
      if (!replayable || attempt >= 3) throw err.original;
    }
  }
}

/**
 * One request on one connection. The timeout covers the wait for the headers; after that the
 * socket's idle timeout (the same value) guards the body.
 */
function sendOnce(egress: Egress, r: UpstreamRequest): Promise<IncomingMessage> {
  const isHttps = r.url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(r.url, {
      method: r.method,
      headers: r.headers,
      agent: isHttps ? egress.agents.https : egress.agents.http,
    });
    const timer = setTimeout(() => req.destroy(timeoutError()), r.timeoutMs);
    req.setTimeout(r.timeoutMs, () => req.destroy(timeoutError()));
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const closed = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      reject(closed ? new ClosedConnectionError(err) : err);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      res.on('error', () => undefined);
      resolve(res);
    });
    if (r.body === undefined) req.end();
    else if (Buffer.isBuffer(r.body)) req.end(r.body);
    else {
      // A body that fails (the caller went away, or it grew past the limit) fails the request.
      r.body.on('error', (err) => req.destroy(err));
      r.body.pipe(req);
    }
  });
}

/** Reads a whole response, at most `maxBytes`, within `timeoutMs`. */
export function readBounded(res: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.destroy();
      return reject(new AppError('Proxy_ResponseTooLarge', `The provider's response is larger than ${maxBytes} bytes`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => res.destroy(timeoutError()), timeoutMs);
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) res.destroy(new AppError('Proxy_ResponseTooLarge', `The provider's response is larger than ${maxBytes} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.complete) reject(res.errored ?? Object.assign(new Error('the provider closed the connection early'), { code: 'ECONNRESET' }));
    });
  });
}

/**
 * A pass-through that counts bytes and fails once more than `maxBytes` went by (a streamed body
 * is never held whole: only the count is kept).
 */
export function byteLimit(maxBytes: number, tooLarge: () => Error) {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) cb(tooLarge());
      else cb(null, chunk);
    },
  });
  return { stream: counter, bytes: () => seen };
}
