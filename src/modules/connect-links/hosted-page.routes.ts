/**
 * The hosted Connect Link page at /link/{token}: public (the single-use token is the capability).
 * Security: anti-CSRF (double-submit cookie, SameSite=Strict), a strict CSP and frame-ancestors
 * through @fastify/helmet, no-referrer, rate limiting per client address, and the token redacted
 * from logs. Errors are pages, never JSON, and never say whether other users or accounts exist.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app.js';
import { outcomeUrl } from '../oauth/oauth.routes.js';
import { LinkPageError } from './connect-links.service.js';
import { formPage, resultPage } from './hosted-page.html.js';

const CSRF_COOKIE = 'lk_link_csrf';
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
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ['https:', 'data:'],
        formAction: ["'self'", 'https:', ...o.formActionOrigins],
        frameAncestors: o.frameAncestors.length ? o.frameAncestors : ["'none'"],
        baseUri: ["'none'"],
      },
    },
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

  const newCsrf = (reply: FastifyReply) => {
    const value = randomBytes(24).toString('base64url');
    void reply.header('set-cookie', `${CSRF_COOKIE}=${value}; Path=/link; HttpOnly; SameSite=Strict${o.secureCookies ? '; Secure' : ''}`);
    return value;
  };

  app.get('/link/:token', { config: { rateLimit: o.rateLimit, public: true }, schema: { hide: true, params: Params } }, async (req, reply) => {
    const { token } = req.params as z.infer<typeof Params>;
    try {
      const model = await links.open(token);
      return html(reply, 200, formPage(model, { csrf: newCsrf(reply), action: `/link/${token}` }));
    } catch (err) {
      return failPage(reply, err);
    }
  });

  app.post('/link/:token', { config: { rateLimit: o.rateLimit, public: true }, schema: { hide: true, params: Params, body: Form } }, async (req, reply) => {
    const { token } = req.params as z.infer<typeof Params>;
    const form = req.body as Record<string, string>;
    const sent = Buffer.from(form.csrf ?? '');
    const expected = Buffer.from(cookie(req, CSRF_COOKIE) ?? '');
    if (!expected.length || sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      return html(reply, 403, resultPage({ ok: false, title: 'Please try again', message: 'This form expired. Reload the page and submit it again.' }));
    }
    try {
      const out = await links.submit(token, form);
      if ('errors' in out) {
        const values = Object.fromEntries(Object.entries(form).filter(([k]) => k !== 'csrf'));
        return html(reply, 400, formPage(out.model, { csrf: newCsrf(reply), action: `/link/${token}`, values, errors: out.errors }));
      }
      if (!out.done) return reply.redirect(out.redirect, 303); // to the provider
      if (out.redirect) return reply.redirect(outcomeUrl(out.redirect, out.account.id, out.account.status, true), 303);
      return html(reply, 200, resultPage({ ok: true, title: 'Connected', message: `Your ${out.account.toolkitSlug} account is connected. You can close this window.` }));
    } catch (err) {
      return failPage(reply, err);
    }
  });
};
