/**
 * The hosted Connect Link page at /link/{token}: public (the single-use token is the capability).
 * Security: anti-CSRF (double-submit cookie per link session, SameSite=Strict), a strict CSP per page
 * (form-action names only this link's destinations; frame-ancestors configurable), the other
 * security headers through @fastify/helmet, no-referrer, rate limiting per client address, and the token redacted
 * from logs. Errors are pages, never JSON, and never say whether other users or accounts exist.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app.js';
import { outcomeUrl } from '../oauth/oauth.routes.js';
import { LinkPageError, type PageModel } from './connect-links.service.js';
import { formPage, resultPage } from './hosted-page.html.js';

/** One cookie per link session: every tab of the same link shares it, links do not collide. */
const csrfCookie = (sessionId: string) => `lk_csrf_${sessionId}`;
const Params = z.object({ token: z.string().max(100) });
const Form = z.record(z.string().max(100), z.string().max(20_000));

export type HostedPageOptions = {
  services: Services;
  rateLimit: { max: number; timeWindow: number };
  /** Origins allowed to embed the page (CSP frame-ancestors); 'none' by default. */
  frameAncestors: string[];
  /** Extra origins forms may post to or redirect through (loopback providers in tests). */
  formActionOrigins: string[];
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

export const hostedPageRoutes: FastifyPluginAsync<HostedPageOptions> = async (app, o) => {
  const links = o.services.connectLinks;
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  // The CSP's form-action also governs the redirect after a submission, so each page names the
  // origins its form may lead to (the app's callback, the provider's authorize page).
  const csp = (targets: string[]) =>
    [
      "default-src 'none'",
      "style-src 'unsafe-inline'",
      `img-src https: data:${o.formActionOrigins.length ? ` ${o.formActionOrigins.join(' ')}` : ''}`,
      `form-action 'self' https: ${[...o.formActionOrigins, ...targets].join(' ')}`.trim(),
      `frame-ancestors ${o.frameAncestors.length ? o.frameAncestors.join(' ') : "'none'"}`,
      "base-uri 'none'",
    ].join('; ');
  await app.register(helmet, {
    // Set per page below (see csp); helmet provides the other headers.
    contentSecurityPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
    frameguard: false, // frame-ancestors (above) decides, so embedding can be allowed per deployment
  });

  const failPage = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof LinkPageError)) throw err;
    const status = err.kind === 'invalid' ? 404 : 410;
    const title = err.kind === 'expired' ? 'Link expired' : err.kind === 'used' ? 'Link already used' : 'Link not available';
    return html(reply, status, resultPage({ ok: false, title, message: err.userMessage }));
  };

  /** The session's CSRF value: the one its cookie already holds (other tabs), or a new one. */
  const csrfFor = (req: FastifyRequest, reply: FastifyReply, sessionId: string) => {
    const existing = cookie(req, csrfCookie(sessionId));
    if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
    const value = randomBytes(24).toString('base64url');
    void reply.header('set-cookie', `${csrfCookie(sessionId)}=${value}; Path=/link; HttpOnly; SameSite=Strict${o.secureCookies ? '; Secure' : ''}`);
    return value;
  };
  const formHtml = (req: FastifyRequest, reply: FastifyReply, code: number, model: PageModel, token: string, extra: { values?: Record<string, string>; errors?: Record<string, string> } = {}) => {
    void reply.header('content-security-policy', csp(model.formTargets));
    return html(reply, code, formPage(model, { csrf: csrfFor(req, reply, model.sessionId), action: `/link/${token}`, ...extra }));
  };

  app.get('/link/:token', { config: { rateLimit: o.rateLimit, public: true }, schema: { hide: true, params: Params } }, async (req, reply) => {
    const { token } = req.params as z.infer<typeof Params>;
    try {
      return formHtml(req, reply, 200, await links.open(token), token);
    } catch (err) {
      return failPage(reply, err);
    }
  });

  app.post('/link/:token', { config: { rateLimit: o.rateLimit, public: true }, schema: { hide: true, params: Params, body: Form } }, async (req, reply) => {
    const { token } = req.params as z.infer<typeof Params>;
    const form = req.body as Record<string, string>;
    try {
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
      if (!out.done) return reply.redirect(out.redirect, 303); // to the provider
      if (out.redirect) return reply.redirect(outcomeUrl(out.redirect, out.account.id, out.account.status, true), 303);
      return html(reply, 200, resultPage({ ok: true, title: 'Connected', message: `Your ${session.toolkitName} account is connected. You can close this window.` }));
    } catch (err) {
      return failPage(reply, err);
    }
  });
};
