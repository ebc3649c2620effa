/** db/errors.ts against the errors the real drivers raise (no hand-made error objects). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { isDatabaseUnavailable, translateDbError } from '../src/db/errors.js';
import { type Database, createDatabase } from '../src/db/prisma.js';
import { freshDatabase } from './support/database.js';

let live: Database;
let dead: Database;
let drop: () => Promise<void>;
beforeAll(async () => {
  const db = await freshDatabase();
  drop = db.drop;
  live = createDatabase(db.url, 2);
  // Nothing listens on this port: every connection is refused.
  dead = createDatabase(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`, 2);
});
afterAll(async () => {
  await live.close();
  await dead.close();
  await drop();
});

const caught = async (p: Promise<unknown>) => p.then(() => expect.unreachable('should have failed'), (e: unknown) => e);

describe('translateDbError', () => {
  it('an unreachable server is a 503 with retry-after, from Prisma, raw Prisma queries, transactions and pg', async () => {
    for (const err of [
      await caught(dead.db.project.findFirst()),
      await caught(dead.db.$queryRaw`SELECT 1`),
      await caught(dead.db.$transaction(async (tx) => tx.project.count())),
      await caught(dead.pool.query('SELECT 1')),
    ]) {
      expect(isDatabaseUnavailable(err)).toBe(true);
      const app = translateDbError(err)!;
      expect(app.slug).toBe('Database_Unavailable');
      expect(app.status).toBe(503);
      expect(Number(app.headers!['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('NUL in text or jsonb is a 400 (SQLSTATE 22021, 22P05), however it reached the database', async () => {
    for (const err of [
      await caught(live.pool.query('SELECT $1::text', ['a\u0000b'])),
      await caught(live.db.$queryRaw`SELECT ${'a\u0000b'}::text`),
      await caught(live.db.$queryRaw`SELECT ${'{"a":"\\u0000"}'}::jsonb`),
      await caught(live.db.$queryRaw`SELECT ${'nope'}::int`),
    ]) {
      expect(translateDbError(err)?.slug, String(err)).toBe('Request_ValidationError');
      expect(translateDbError(err)?.status).toBe(400);
    }
  });

  it('a unique violation is a final 409; a missing row to update is a 404; anything else is left alone', async () => {
    const data = { id: 'proj_dbErrors0001', name: 'db-errors' };
    await live.db.project.create({ data });
    const dup = translateDbError(await caught(live.db.project.create({ data })));
    expect(dup?.status).toBe(409);
    expect(dup?.headers?.['x-should-retry']).toBe('false');
    expect(translateDbError(await caught(live.db.project.update({ where: { id: 'proj_missing000001' }, data: { name: 'x' } })))?.status).toBe(404);
    expect(translateDbError(await caught(live.pool.query('SELECT * FROM no_such_table')))).toBeUndefined();
    expect(translateDbError(new Error('connect ECONNREFUSED 10.0.0.7:5432'))).toBeUndefined();
  });
});
