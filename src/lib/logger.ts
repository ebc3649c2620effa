/**
 * pino options. Redaction is by allow-list where it can be: request logs carry the method, the path
 * and only the values of known-harmless query parameters; headers and bodies are never logged.
 * The redact paths are a second line of defence for anything a handler might log by mistake.
 */
import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';

/** Query parameters whose values are safe to log. Every other value is replaced by [redacted]. */
const LOGGABLE_QUERY = new Set([
  'limit',
  'order_by',
  'order_direction',
  'statuses',
  'toolkit_slug',
  'toolkit_slugs',
  'show_disabled',
  'is_composio_managed',
  'managed_by',
  'category',
  'sort_by',
  'type',
  'account_type',
  'include_deprecated',
  'revoke_on_delete',
  'status',
  'error',
]);

export function safeUrl(raw: string): string {
  // A Connect Link token in the path is a capability: never logged.
  // So is a console sign-in link's token.
  const url = raw.replace(/\/link\/[^/?#]+/, '/link/[redacted]').replace(/\/console\/sign-in\/[^/?#]+/, '/console/sign-in/[redacted]');
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const out: string[] = [];
  for (const [k, v] of params) out.push(`${encodeURIComponent(k)}=${LOGGABLE_QUERY.has(k) ? encodeURIComponent(v) : '[redacted]'}`);
  return `${url.slice(0, q)}?${out.join('&')}`;
}

export const REDACT_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers["x-user-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-api-key"]',
  'headers.authorization',
  '*.password',
  '*.api_key',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.token',
  '*.secret',
  'body',
  'req.body',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req(req: FastifyRequest) {
        return { method: req.method, url: safeUrl(req.url), remoteAddress: req.ip };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
    },
  };
}
