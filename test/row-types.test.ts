/**
 * The hot queries' parsers (src/db/row-types.ts) against what PostgreSQL really sends, in a UTC
 * session and in another time zone: every value reads the same as through pg's own parsers.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { hotRowTypes } from '../src/db/row-types.js';
import { useTestContext } from './support/context.js';

const ctx = useTestContext();

const VALUES = `
  SELECT t, a, v
    FROM (VALUES
      (timestamptz '2026-12-02 08:44:35.123456+00', ARRAY[]::text[], ARRAY['api_key']::varchar[]),
      (timestamptz '2026-12-02 08:44:35.1+00', ARRAY['a', NULL, 'b'], ARRAY['NULL', '']::varchar[]),
      (timestamptz '2026-12-02 08:44:35+00', ARRAY['a b', 'c,d', 'e"f', 'g\\h', '{x}'], ARRAY['ünï', '日本']::varchar[]),
      (timestamptz '0099-01-01 00:00:00+00', ARRAY['user-1', 'user.2'], NULL::varchar[]),
      (timestamptz 'infinity', NULL::text[], ARRAY[]::varchar[]),
      (timestamptz '2026-12-02 08:44:35.000001+00', ARRAY['x'], ARRAY['y']::varchar[])
    ) AS r(t, a, v)`;

describe('hot row parsers on real rows', () => {
  for (const zone of ['UTC', 'Asia/Kathmandu']) {
    it(`read what pg reads (session time zone ${zone})`, async () => {
      const client = new pg.Client({ connectionString: ctx.databaseUrl });
      await client.connect();
      try {
        await client.query(`SET TIME ZONE '${zone}'`);
        const general = await client.query(VALUES);
        const hot = await client.query({ text: VALUES, types: hotRowTypes });
        expect(hot.rows.length).toBe(6);
        expect(hot.rows.map((r) => ({ ...r, t: String(r.t.valueOf()) }))).toEqual(general.rows.map((r) => ({ ...r, t: String(r.t.valueOf()) })));
      } finally {
        await client.end();
      }
    });
  }
});
