/**
 * The operator console at /console: server-rendered pages, served only when CONSOLE_ENABLED.
 * Security, in one place for every answer under /console: a strict CSP (no inline script or style,
 * nothing from another origin, forms post only here, no framing), no-referrer, no-store; sessions
 * in an HttpOnly, SameSite=Strict cookie (Secure behind https) scoped to /console; a CSRF value on
 * every form (the session's HMAC-derived token once signed in, a double-submit cookie before);
 * sign-in attempts rate-limited per client address. Pages are behind the session check by scope
 * (console-pages.routes.ts registers inside it), not by URL matching.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { toAppError } from '../../plugins/error-handler.js';
import type { ConsoleAuthService, ConsoleIdentity } from './console-auth.service.js';
import { cookieValue, sendPage } from './console-http.js';
import { consolePagesRoutes } from './console-pages.routes.js';
import { SignInForm, SignInNext, TokenParams } from './console.schemas.js';
import type { ConsoleService } from './console.service.js';
import { CONSOLE_CSS, CONSOLE_JS } from './views/assets.js';
import { messagePage, signInLinkPage, signInPage } from './views/sign-in.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SESSION_COOKIE = 'lk_console';
const SIGN_IN_COOKIE = 'lk_console_signin';

type Limit = { max: number; timeWindow: number };
export type ConsoleOptions = {
  auth: ConsoleAuthService;
  console: ConsoleService;
  secureCookies: boolean;
  limits: { read: Limit; write: Limit; signIn: Limit };
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in operator (console pages only). */
    consoleIdentity: ConsoleIdentity | null;
  }
}

/** Only a path inside the console may be a destination after sign-in (no open redirect). */
const safeNext = (next: string | undefined) =>
  next && /^\/console(\/[A-Za-z0-9_\-./?=&%]*)?$/.test(next) && !next.includes('//') && !/\.\.|%2e/i.test(next) ? next : '/console';

export const consoleRoutes: FastifyPluginAsyncZod<ConsoleOptions> = async (app, o) => {
  const secure = o.secureCookies ? '; Secure' : '';
  const cookie = (name: string, value: string, maxAgeSeconds?: number) =>
    `${name}=${value}; Path=/console; HttpOnly; SameSite=Strict${secure}${maxAgeSeconds !== undefined ? `; Max-Age=${maxAgeSeconds}` : ''}`;

  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(helmet, { contentSecurityPolicy: false, referrerPolicy: { policy: 'no-referrer' }, crossOriginEmbedderPolicy: false, frameguard: { action: 'deny' } });
  app.decorateRequest('consoleIdentity', null);
  app.addHook('onRequest', async (_req, reply) => {
    void reply.header('content-security-policy', CONSOLE_CSP).header('cache-control', 'no-store');
  });

  // Every failure is a page with its status: client errors say what was wrong, server errors do not.
  app.setErrorHandler((err, req, reply) => {
    const operator = req.consoleIdentity ?? undefined;
    const frame = { title: 'Error', operator };
    const known = toAppError(err);
    if (known?.headers) void reply.headers(known.headers);
    if (known && known.status < 500) {
      const title = known.status === 404 ? 'Not found' : known.status === 429 ? 'Too many attempts' : known.status === 409 ? 'That conflicts with the current state' : 'That did not work';
      return sendPage(reply, known.status, messagePage(frame, { title, message: known.message, back: '/console' }));
    }
    if (known?.slug === 'Database_Unavailable') req.log.warn({ slug: known.slug }, known.message);
    else req.log.error({ err: { type: (err as Error)?.name, message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'console request failed');
    return sendPage(reply, known?.status ?? 500, messagePage(frame, { title: 'Something went wrong', message: 'Latchkey could not finish this request. Try again in a moment.' }));
  });
  app.setNotFoundHandler((req, reply) => sendPage(reply, 404, messagePage({ title: 'Not found', operator: req.consoleIdentity ?? undefined }, { title: 'Not found', message: 'There is no such page.', back: '/console' })));

  app.get('/assets/console.css', { config: { rateLimit: o.limits.read }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(CONSOLE_CSS),
  );
  app.get('/assets/console.js', { config: { rateLimit: o.limits.read }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(CONSOLE_JS),
  );

  // ---- before sign-in: a double-submit CSRF cookie guards the sign-in forms --------------------
  const preSessionCsrf = (req: FastifyRequest, reply: FastifyReply) => {
    const existing = cookieValue(req, SIGN_IN_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
    const value = randomBytes(24).toString('base64url');
    void reply.header('set-cookie', cookie(SIGN_IN_COOKIE, value));
    return value;
  };
  const preSessionCsrfMatches = (req: FastifyRequest, sent: string) => {
    const a = Buffer.from(sent);
    const b = Buffer.from(cookieValue(req, SIGN_IN_COOKIE) ?? '');
    return b.length > 0 && a.length === b.length && timingSafeEqual(a, b);
  };
  const startSession = (reply: FastifyReply, token: string, next: string) =>
    reply.header('set-cookie', [cookie(SESSION_COOKIE, token), cookie(SIGN_IN_COOKIE, '', 0)]).redirect(safeNext(next), 303);
  const formExpired = (reply: FastifyReply) =>
    sendPage(reply, 403, messagePage({ title: 'Sign in' }, { title: 'Please try again', message: 'This form expired. Reload the page and sign in again.', back: '/console/sign-in' }));

  app.get('/sign-in', { config: { rateLimit: o.limits.read }, schema: { hide: true, querystring: SignInNext } }, async (req, reply) => {
    if (await o.auth.identify(cookieValue(req, SESSION_COOKIE))) return reply.redirect(safeNext(req.query.next), 303);
    return sendPage(reply, 200, signInPage({ csrf: preSessionCsrf(req, reply), next: req.query.next }));
  });

  app.post('/sign-in', { config: { rateLimit: o.limits.signIn }, schema: { hide: true, querystring: SignInNext, body: SignInForm } }, async (req, reply) => {
    if (!preSessionCsrfMatches(req, req.body.csrf)) return formExpired(reply);
    const token = await o.auth.signInWithPassword(req.body.email, req.body.password);
    if (!token) {
      return sendPage(reply, 401, signInPage({ csrf: preSessionCsrf(req, reply), next: req.query.next, email: req.body.email, error: 'The email or the password is not right.' }));
    }
    return startSession(reply, token, req.query.next ?? '/console');
  });

  // A one-time link from `latchkey console-users add|link`: opening it asks to confirm (so a mail
  // scanner fetching the URL does not use it up); the POST signs in.
  app.get('/sign-in/:token', { config: { rateLimit: o.limits.signIn }, schema: { hide: true, params: TokenParams } }, async (req, reply) => {
    if (!(await o.auth.linkUsable(req.params.token))) {
      return sendPage(reply, 410, messagePage({ title: 'Sign in' }, { title: 'Link not usable', message: 'This sign-in link is not valid, was already used, or has expired. Ask for a new one.', back: '/console/sign-in' }));
    }
    return sendPage(reply, 200, signInLinkPage({ csrf: preSessionCsrf(req, reply), action: `/console/sign-in/${req.params.token}` }));
  });

  app.post('/sign-in/:token', { config: { rateLimit: o.limits.signIn }, schema: { hide: true, params: TokenParams, body: SignInForm.pick({ csrf: true }) } }, async (req, reply) => {
    if (!preSessionCsrfMatches(req, req.body.csrf)) return formExpired(reply);
    const token = await o.auth.signInWithLink(req.params.token);
    if (!token) {
      return sendPage(reply, 410, messagePage({ title: 'Sign in' }, { title: 'Link not usable', message: 'This sign-in link is not valid, was already used, or has expired. Ask for a new one.', back: '/console/sign-in' }));
    }
    return startSession(reply, token, '/console');
  });

  // ---- signed in: every route below needs a live session, and every POST its CSRF value --------
  await app.register(async (pages) => {
    pages.addHook('onRequest', async (req, reply) => {
      req.consoleIdentity = await o.auth.identify(cookieValue(req, SESSION_COOKIE));
      if (!req.consoleIdentity) {
        const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.url)}` : '';
        return reply.header('set-cookie', cookie(SESSION_COOKIE, '', 0)).redirect(`/console/sign-in${next}`, 303);
      }
    });
    // Before validation, so a forged form learns nothing about which fields it got wrong.
    pages.addHook('preValidation', async (req, reply) => {
      if (req.method !== 'POST') return;
      const sent = (req.body as { csrf?: unknown } | undefined)?.csrf;
      if (!o.auth.csrfMatches(req.consoleIdentity!, sent)) {
        return sendPage(reply, 403, messagePage({ title: 'Form expired', operator: req.consoleIdentity! }, { title: 'Please try again', message: 'This form expired or did not come from the console. Reload the page and try again.', back: '/console' }));
      }
    });

    pages.post('/sign-out', { config: { rateLimit: o.limits.write }, schema: { hide: true } }, async (req, reply) => {
      await o.auth.signOut(req.consoleIdentity!.sessionId);
      return reply.header('set-cookie', cookie(SESSION_COOKIE, '', 0)).redirect('/console/sign-in', 303);
    });

    await pages.register(consolePagesRoutes, { console: o.console, limits: o.limits });
  });
};
