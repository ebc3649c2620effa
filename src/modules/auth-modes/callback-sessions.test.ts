import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCrypto } from '../../lib/crypto.js';
import { isAppError } from '../../lib/errors.js';
import { CALLBACK_SESSION_TTL_MS, callbackSessionHash, checkCallbackSession, issueCallbackSession } from './callback-sessions.js';

const crypto = createCrypto({ hmacSecret: randomBytes(32), encryptionKeys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
const binding = { projectId: 'proj_a', accountId: 'ca_1', userId: 'alice' };
const t0 = new Date('2026-07-20T10:00:00Z');

function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (isAppError(e)) return { status: e.status, slug: e.slug, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('verified callback sessions (complete_auth)', () => {
  it('issues a random single-use URI and stores only its HMAC, bound to project, account and user, for 10 minutes', () => {
    const a = issueCallbackSession(crypto, binding, t0);
    const b = issueCallbackSession(crypto, binding, t0);
    expect(a.sessionUri).toMatch(/^urn:latchkey:callback-session:[A-Za-z0-9_-]{43}$/);
    expect(a.sessionUri).not.toBe(b.sessionUri);
    expect(JSON.stringify(a.stored)).not.toContain(a.sessionUri.split(':').at(-1));
    expect(a.stored).toMatchObject({ ...binding, usedAt: null, expiresAt: new Date(t0.getTime() + CALLBACK_SESSION_TTL_MS) });
    expect(crypto.equal(callbackSessionHash(crypto, a.sessionUri)!, a.stored.hash)).toBe(true);
  });

  it('redeems for the right project and user within 10 minutes', () => {
    const { sessionUri, stored } = issueCallbackSession(crypto, binding, t0);
    const at = new Date(t0.getTime() + CALLBACK_SESSION_TTL_MS - 1);
    expect(checkCallbackSession(crypto, stored, { projectId: 'proj_a', sessionUri, userId: 'alice' }, at)).toEqual({ accountId: 'ca_1' });
  });

  it('unknown, malformed, expired, used or another project → the same 404', () => {
    const { sessionUri, stored } = issueCallbackSession(crypto, binding, t0);
    const ok = { projectId: 'proj_a', sessionUri, userId: 'alice' };
    const cases = [
      () => checkCallbackSession(crypto, undefined, ok, t0),
      () => checkCallbackSession(crypto, stored, { ...ok, sessionUri: 'urn:latchkey:callback-session:short' }, t0),
      () => checkCallbackSession(crypto, stored, { ...ok, sessionUri: issueCallbackSession(crypto, binding, t0).sessionUri }, t0),
      () => checkCallbackSession(crypto, stored, ok, new Date(t0.getTime() + CALLBACK_SESSION_TTL_MS)),
      () => checkCallbackSession(crypto, { ...stored, usedAt: t0 }, ok, t0),
      () => checkCallbackSession(crypto, stored, { ...ok, projectId: 'proj_b' }, t0),
      // Expired and for another user: still 404, nothing is said about whose it was.
      () => checkCallbackSession(crypto, stored, { ...ok, userId: 'mallory' }, new Date(t0.getTime() + CALLBACK_SESSION_TTL_MS)),
    ];
    for (const c of cases) expect(refusal(c)).toMatchObject({ status: 404, slug: 'ConnectedAccount_ResourceNotFound' });
  });

  it('the right session for another user → 400', () => {
    const { sessionUri, stored } = issueCallbackSession(crypto, binding, t0);
    expect(refusal(() => checkCallbackSession(crypto, stored, { projectId: 'proj_a', sessionUri, userId: 'mallory' }, t0))).toMatchObject({
      status: 400,
      slug: 'ConnectedAccount_InvalidRequest',
    });
  });

  it('a session issued under another HMAC secret does not match', () => {
    const other = createCrypto({ hmacSecret: randomBytes(32), encryptionKeys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1' });
    const { sessionUri, stored } = issueCallbackSession(other, binding, t0);
    expect(refusal(() => checkCallbackSession(crypto, stored, { projectId: 'proj_a', sessionUri, userId: 'alice' }, t0)).status).toBe(404);
  });
});
