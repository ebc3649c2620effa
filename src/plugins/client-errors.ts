/**
 * Errors Node's HTTP parser raises before Fastify sees a request (its 'clientError' event): headers
 * over the size limit, a malformed request line, bad framing (e.g. both content-length and
 * transfer-encoding), a request that took too long to arrive. There is no request object yet, so the
 * answer is written to the raw socket — still an HTTP response whose body is the error envelope, with
 * a fresh request id, and then the connection is closed (the stream's framing cannot be trusted).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { AppError } from '../lib/errors.js';
import { envelope } from './error-handler.js';

function appErrorFor(code: string | undefined): AppError {
  switch (code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('Request_HeadersTooLarge', 'The request headers are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new AppError('Request_Timeout', 'The request did not arrive in time');
    default:
      return new AppError('Request_ValidationError', 'The request is not well-formed HTTP');
  }
}

/** Fastify's `clientErrorHandler` option (called with the server as `this`, which we do not need). */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection is gone: there is nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = `req_${randomBytes(9).toString('base64url')}`;
  const appErr = appErrorFor(err.code);
  const body = JSON.stringify(envelope(appErr, requestId));
  // end() flushes the answer, then closes (Node's documented way to answer a clientError).
  socket.end(
    `HTTP/1.1 ${appErr.status} ${http.STATUS_CODES[appErr.status]}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
