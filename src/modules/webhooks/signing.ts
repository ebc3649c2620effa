/**
 * Standard-Webhooks style signatures, keyed exactly as Composio's SDK verifies them: the secret
 * string's UTF-8 bytes are the HMAC key, and the signed content is `${id}.${timestamp}.${body}`.
 */
import { createHmac, randomBytes } from 'node:crypto';

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Headers for one attempt; during a rotation both secrets sign (space-separated). */
export function signedHeaders(o: { id: string; body: string; secrets: string[]; now?: Date; version: string }) {
  const ts = Math.floor((o.now ?? new Date()).getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'Latchkey-Webhooks/1',
    'webhook-id': o.id,
    'webhook-timestamp': String(ts),
    'webhook-signature': o.secrets.map((s) => sign(s, o.id, ts, o.body)).join(' '),
    'x-composio-webhook-version': o.version,
  };
}
