/**
 * The hosted Connect Link page at /link/{token}: public (the single-use token is the capability).
 * Security: anti-CSRF (double-submit cookie per link session, SameSite=Strict), the same strict CSP
 * and frame policy on every page of this prefix, whatever answers (hosted-page.policy.ts: form-action
 * names only this link's destinations; frame-ancestors configurable), the other security headers
 * through @fastify/helmet, no-referrer, rate limiting per client address, and the token redacted
 * from logs. Every answer is a page, never JSON (errors included), and never says whether other
 * users or accounts exist.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app.js';
import { isAppError } from '../../lib/errors.js';
import { outcomeUrl } from '../oauth/oauth.routes.js';
import { LinkPageError, type PageModel } from './connect-links.service.js';
import { formPage, remoteLogos, resultPage } from './hosted-page.html.js';
import { type FramePolicy, contentSecurityPolicy, frameOptions } from './hosted-page.policy.js';

/** One cookie per link session: every tab of the same link shares it, links do not collide. */
const csrfCookie = (sessionId: string) => `lk_csrf_${sessionId}`;
const Params = z.object({ token: z.string().max(100) });
const Form = z.record(z.string().max(100), z.string().max(20_000));

export type HostedPageOptions = FramePolicy & {
  services: Services;
  rateLimit: { max: number; timeWindow: number };
  /** Latchkey's public URL: the page's own address, the first destination of its form. */
  publicUrl: string;
  /** Show the toolkit's and the project's logos from their URLs (a third-party request) instead of letters. */
  allowRemoteLogos: boolean;
  secureCookies: boolean;
};

function cookie(req: FastifyRequest, name: string) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

const html = (reply: FastifyReply, code: number, body: string) => reply.code(code).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

/** What an error answer from elsewhere (the shared error handler's envelope) means to the person on the page. */
function errorPage(status: number, message: string | undefined) {
  if (status >= 500) {
    return resultPage({ ok: false, title: 'Something went wrong', message: 'The connection service could not finish this step. Wait a moment and try again.' });
  }
  if (status === 404) return resultPage({ ok: false, title: 'Link not available', message: 'This link is not valid.' });
  if (status === 429) return resultPage({ ok: false, title: 'Too many attempts', message: 'Wait a minute, then reload the page.' });
  return resultPage({ ok: false, title: 'This connection could not continue', message: message ?? 'The form could not be read. Reload the page and try again.' });
}

export const hostedPageRoutes: FastifyPluginAsync<HostedPageOptions> = async (app, o) => {
  const links = o.services.connectLinks;
  const frame: FramePolicy = { frameAncestors: o.frameAncestors };
  const xfo = frameOptions(frame);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(helmet, {
    // Set per page below (see hosted-page.policy.ts); helmet provides the other headers.
    contentSecurityPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
    frameguard: false, // frameOptions() decides, consistent with frame-ancestors
  });

  // Every answer under /link starts with the policy of a page without form or images, so error
  // answers from anywhere (validation, rate limit, the shared error handler) carry it too; the
  // form page replaces it with one naming its own destinations.
  app.addHook('onRequest', async (_req, reply) => {
    void reply.header('content-security-policy', contentSecurityPolicy(frame, { formAction: [], images: [] }));
    if (xfo) void reply.header('x-frame-options', xfo);
  });
  // Errors this plugin does not render itself reach the shared handler, which answers its JSON
  // envelope; here that envelope becomes a page with the same status (and its message, for a 4xx).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode < 400 || !String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    let message: string | undefined;
    try {
      message = (JSON.parse(String(payload)) as { error?: { message?: string } }).error?.message;
    } catch {
      message = undefined;
    }
    void reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return errorPage(reply.statusCode, message);
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof LinkPageError) {
      const status = err.kind === 'invalid' ? 404 : 410;
      const title = err.kind === 'expired' ? 'Link expired' : err.kind === 'used' ? 'Link already used' : 'Link not available';
      return html(reply, status, resultPage({ ok: false, title, message: err.userMessage }));
    }
    // A client error from the service (an OAuth URL needing a field the page did not ask for):
    // its message tells the person what went wrong; the link stays usable.
    if (isAppError(err) && err.status < 500) {
      if (err.headers) void reply.headers(err.headers);
      return html(reply, err.status, errorPage(err.status, err.message));
    }
    throw err; // the shared handler logs and maps it; onSend above makes its answer a page
  });
  app.setNotFoundHandler((_req, reply) => html(reply, 404, errorPage(404, undefined)));

  /** The session's CSRF value: the one its cookie already holds (other tabs), or a new one. */
  const csrfFor = (req: FastifyRequest, reply: FastifyReply, sessionId: string) => {
    const existing = cookie(req, csrfCookie(sessionId));
    if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
    const value = randomBytes(24).toString('base64url');
    void reply.header('set-cookie', `${csrfCookie(sessionId)}=${value}; Path=/link; HttpOnly; SameSite=Strict${o.secureCookies ? '; Secure' : ''}`);
    return value;
  };
  const formHtml = (req: FastifyRequest, reply: FastifyReply, code: number, model: PageModel, token: string, extra: { values?: Record<string, string>; errors?: Record<string, string> } = {}) => {
    const logos = o.allowRemoteLogos ? remoteLogos(model) : [];
    const images = logos.flatMap((u) => {
      try {
        return [new URL(u).origin];
      } catch {
        return [];
      }
    });
    // The token is the page's own path (it is in the address bar already); the path is checked on
    // the POST itself, and CSP ignores paths on the redirects that follow.
    const formAction = [`${o.publicUrl}/link/${token}`, ...model.formTargets];
    void reply.header('content-security-policy', contentSecurityPolicy(frame, { formAction, images }));
    return html(reply, code, formPage(model, { csrf: csrfFor(req, reply, model.sessionId), action: `/link/${token}`, remoteLogos: o.allowRemoteLogos, ...extra }));
  };

  app.get('/:token', { config: { rateLimit: o.rateLimit, public: true }, schema: { hide: true, params: Params } }, async (req, reply) => {
    const { token } = req.params as z.infer<typeof Params>;
    return formHtml(req, reply, 200, await links.open(token), token);
  });

  app.post('/:token', { config: { rateLimit: o.rateLimit, public: true }, schema: { hide: true, params: Params, body: Form } }, async (req, reply) => {
    const { token } = req.params as z.infer<typeof Params>;
    const form = req.body as Record<string, string>;
    const session = await links.open(token);
    const sent = Buffer.from(form.csrf ?? '');
    const expected = Buffer.from(cookie(req, csrfCookie(session.sessionId)) ?? '');
    if (!expected.length || sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      return html(reply, 403, resultPage({ ok: false, title: 'Please try again', message: 'This form expired. Reload the page and submit it again.' }));
    }
    const out = await links.submit(token, form);
    if ('errors' in out) {
      const values = Object.fromEntries(Object.entries(form).filter(([k]) => k !== 'csrf'));
      return formHtml(req, reply, 400, out.model, token, { values, errors: out.errors });
    }
    if ('confirm' in out) return formHtml(req, reply, 200, out.confirm, token);
    if (!out.done) return reply.redirect(out.redirect, 303); // to the provider
    if (out.redirect) return reply.redirect(outcomeUrl(out.redirect, out.account.id, out.account.status, true), 303);
    if (out.account.status !== 'ACTIVE') {
      // A minted-token scheme whose provider refused the credentials just given.
      return html(reply, 200, resultPage({ ok: false, title: 'Not connected', message: `${session.toolkitName} refused these credentials. Ask the app for a new link to try again.` }));
    }
    return html(reply, 200, resultPage({ ok: true, title: 'Connected', message: `Your ${session.toolkitName} account is connected. You can close this window.` }));
  });
};
