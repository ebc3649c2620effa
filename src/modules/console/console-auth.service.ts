/**
 * Console operators and their sessions.
 * - Operators are made by the CLI only (`latchkey console-users add`), which prints a one-time
 *   sign-in link and can set a password (scrypt). There is no sign-up page.
 * - A session is a random cookie token; only its HMAC is stored. It ends after an idle period, at an
 *   absolute lifetime, on sign-out, or when its operator is disabled.
 * - The CSRF token of a session is an HMAC of the session token: forms carry it, nothing stores it,
 *   and it changes with every sign-in.
 * - Failed sign-ins say only that they failed (never whether the address is an operator's), and
 *   take the same scrypt work either way.
 */
import { z } from 'zod';
import type { Crypto } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newConsoleToken, newId } from '../../lib/ids.js';
import type { ConsoleUsersRepository } from './console-users.repository.js';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';

/** lastSeenAt is written at most this often per session, so reading a page stays a read. */
const TOUCH_INTERVAL_MS = 60_000;
const SESSION_TOKEN = /^cst_[0-9A-Za-z]{40}$/;
const LINK_TOKEN = /^csi_[0-9A-Za-z]{40}$/;
const Email = z.email().max(254);

export type ConsoleIdentity = { sessionId: string; userId: string; email: string; csrf: string };

export type ConsoleAuthSettings = {
  publicUrl: string;
  idleMs: number;
  maxMs: number;
  linkTtlMs: number;
};

export function consoleAuthService(deps: { repo: ConsoleUsersRepository; crypto: Pick<Crypto, 'hmac' | 'equal'>; settings: ConsoleAuthSettings }) {
  const { repo, crypto, settings } = deps;
  const hash = (kind: 'session' | 'link', token: string) => crypto.hmac(`console-${kind}:${token}`);
  const csrfOf = (token: string) => crypto.hmac(`console-csrf:${token}`).toString('base64url');
  // Verified against when the address is unknown, so a miss costs what a wrong password does.
  const decoy = hashPassword('latchkey-console-decoy-password');

  function normalEmail(email: string) {
    const parsed = Email.safeParse(email.trim().toLowerCase());
    if (!parsed.success) throw new AppError('Request_ValidationError', 'That is not an email address');
    return parsed.data;
  }

  async function userOrThrow(email: string) {
    const user = await repo.findUserByEmail(normalEmail(email));
    if (!user) throw new AppError('Route_NotFound', `No console user ${email}`);
    return user;
  }

  async function newSession(userId: string) {
    const token = newConsoleToken('cst');
    const now = new Date();
    // Each sign-in clears the operator's dead sessions and links, so neither table grows without end.
    await repo.pruneFor(userId, new Date(now.getTime() - Math.max(settings.idleMs, 86_400_000)));
    await repo.createSession({ id: newId('consoleSession'), userId, tokenHash: hash('session', token), lastSeenAt: now, expiresAt: new Date(now.getTime() + settings.maxMs) });
    return token;
  }

  return {
    /** A new operator, with a one-time sign-in link (and a password, when one is given). */
    async addUser(email: string, password?: string) {
      const address = normalEmail(email);
      if (password !== undefined) {
        const problem = passwordProblem(password);
        if (problem) throw new AppError('Request_ValidationError', problem);
      }
      if (await repo.findUserByEmail(address)) throw AppError.final('Conflict', `${address} is already a console user`);
      const user = await repo.createUser({ id: newId('consoleUser'), email: address, passwordHash: password === undefined ? null : await hashPassword(password) });
      return { user, link: await this.signInLink(address) };
    },

    /** A single-use sign-in link for the operator, valid for CONSOLE_SIGN_IN_LINK_MINUTES. */
    async signInLink(email: string) {
      const user = await userOrThrow(email);
      if (user.disabledAt) throw new AppError('Request_ValidationError', `${user.email} is disabled`);
      const token = newConsoleToken('csi');
      const expiresAt = new Date(Date.now() + settings.linkTtlMs);
      await repo.createLink({ id: newId('consoleSignInLink'), userId: user.id, tokenHash: hash('link', token), expiresAt });
      return { url: `${settings.publicUrl}/console/sign-in/${token}`, expiresAt };
    },

    async setPassword(email: string, password: string | null) {
      const user = await userOrThrow(email);
      if (password !== null) {
        const problem = passwordProblem(password);
        if (problem) throw new AppError('Request_ValidationError', problem);
      }
      await repo.setPassword(user.id, password === null ? null : await hashPassword(password));
    },

    async disableUser(email: string) {
      const user = await userOrThrow(email);
      await repo.disableUser(user.id, new Date());
    },

    listUsers: () => repo.listUsers(),

    /** A session token for a correct email and password; null otherwise (no reason given). */
    async signInWithPassword(email: string, password: string): Promise<string | null> {
      const parsed = Email.safeParse(email.trim().toLowerCase());
      const user = parsed.success && password.length <= 200 ? await repo.findUserByEmail(parsed.data) : null;
      const ok = await verifyPassword(password.slice(0, 200), user?.passwordHash ?? (await decoy));
      if (!user || !user.passwordHash || user.disabledAt || !ok) return null;
      return newSession(user.id);
    },

    /** Whether a sign-in link can still be used (for the page that asks to confirm it). */
    async linkUsable(token: string) {
      if (!LINK_TOKEN.test(token)) return false;
      const link = await repo.findLink(hash('link', token));
      return !!link && !link.usedAt && link.expiresAt > new Date() && !link.user.disabledAt;
    },

    /** A session token for an unused, unexpired link (which is used up); null otherwise. */
    async signInWithLink(token: string): Promise<string | null> {
      if (!LINK_TOKEN.test(token)) return null;
      const link = await repo.findLink(hash('link', token));
      if (!link || link.user.disabledAt || !(await repo.claimLink(link.id, new Date()))) return null;
      return newSession(link.userId);
    },

    /** The operator behind a session cookie, or null when it is unknown, ended, idle or expired. */
    async identify(token: string | undefined): Promise<ConsoleIdentity | null> {
      if (!token || !SESSION_TOKEN.test(token)) return null;
      const digest = hash('session', token);
      const s = await repo.findSession(digest);
      if (!s || !crypto.equal(Buffer.from(s.tokenHash), digest)) return null;
      const now = Date.now();
      if (s.endedAt || s.user.disabledAt || s.expiresAt.getTime() <= now || s.lastSeenAt.getTime() + settings.idleMs <= now) return null;
      if (s.lastSeenAt.getTime() + TOUCH_INTERVAL_MS <= now) await repo.touchSession(s.id, new Date(now));
      return { sessionId: s.id, userId: s.userId, email: s.user.email, csrf: csrfOf(token) };
    },

    /** Constant-time check of a form's CSRF value against the session's. */
    csrfMatches(identity: ConsoleIdentity, sent: unknown) {
      if (typeof sent !== 'string') return false;
      const a = Buffer.from(sent);
      const b = Buffer.from(identity.csrf);
      return a.length === b.length && crypto.equal(a, b);
    },

    signOut: (sessionId: string) => repo.endSession(sessionId, new Date()),
  };
}
export type ConsoleAuthService = ReturnType<typeof consoleAuthService>;
