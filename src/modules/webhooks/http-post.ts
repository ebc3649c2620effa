/**
 * One webhook POST over node:http(s). The address check happens in the socket's own DNS lookup, so
 * the address that is checked is the address that is connected to: a name cannot resolve to a
 * public address for the check and an internal one for the connection.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isInternalAddress } from './url-guard.js';

export class InternalAddressError extends Error {
  constructor() {
    super('the URL resolves to an internal address');
    this.name = 'InternalAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function checkedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback) {
  dnsLookup(hostname, { all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    if (addresses.some((a) => isInternalAddress(a.address))) return callback(new InternalAddressError() as NodeJS.ErrnoException, []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}

/** Resolves with the response status; rejects with InternalAddressError, a TimeoutError or a network error. */
export function postWebhook(url: string, headers: Record<string, string>, body: string, o: { timeoutMs: number; allowInternal: boolean }): Promise<number> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // IP literals skip DNS, so they are checked here.
  if (!o.allowInternal && net.isIP(host) && isInternalAddress(host)) return Promise.reject(new InternalAddressError());
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      ...(o.allowInternal ? {} : { lookup: checkedLookup as never }),
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), o.timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume(); // the body is not needed
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
