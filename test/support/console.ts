/**
 * Signing in to the console as a browser does, over HTTP: the sign-in form's CSRF cookie and
 * field, then the session cookie. Operators are made the way the CLI makes them.
 */
import type supertest from 'supertest';
import { expect } from 'vitest';
import { withDefaults } from '../../src/lib/config.js';
import { createCrypto } from '../../src/lib/crypto.js';
import { consoleAuthFrom } from '../../src/modules/console/console.wiring.js';
import { TEST_SECRETS, type TestContext } from './context.js';

/** The console's operator service on the test's database, as `latchkey console-users` uses it. */
export const consoleAuthOf = (ctx: TestContext, publicUrl = 'http://127.0.0.1') =>
  consoleAuthFrom({ db: ctx.db, crypto: createCrypto(TEST_SECRETS), config: withDefaults({ publicUrl }) });

/** name=value of a Set-Cookie header by name. */
export function cookieOf(res: supertest.Response, name: string): string | undefined {
  const all = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return all.find((c) => c.startsWith(`${name}=`));
}
export const pair = (setCookie: string | undefined) => (setCookie ?? '').split(';')[0]!;

/** The CSRF field of a page's first form. */
export function csrfOf(htmlText: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(htmlText);
  expect(m, 'the page has a form with a csrf field').not.toBeNull();
  return m![1]!;
}

export type ConsoleSession = { cookie: string; csrf: string };

export async function signIn(http: ReturnType<typeof supertest>, email: string, password: string): Promise<ConsoleSession> {
  const form = await http.get('/console/sign-in').expect(200);
  const pre = pair(cookieOf(form, 'lk_console_signin'));
  const res = await http.post('/console/sign-in').set('cookie', pre).type('form').send({ email, password, csrf: csrfOf(form.text) });
  expect(res.status, res.text).toBe(303);
  const cookie = pair(cookieOf(res, 'lk_console'));
  const page = await http.get('/console/projects').set('cookie', cookie).expect(200);
  return { cookie, csrf: csrfOf(page.text) };
}
