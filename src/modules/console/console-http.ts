/** Small HTTP helpers the console's route files share. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SafeHtml } from '../../lib/html.js';

export function cookieValue(req: FastifyRequest, name: string) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export const sendPage = (reply: FastifyReply, code: number, body: SafeHtml) => reply.code(code).type('text/html; charset=utf-8').send(body.value);

