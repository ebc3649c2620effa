import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { hotRowTypes, parseTextArray, parseTimestamptz } from './row-types.js';

const pgParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (text: string) => unknown;
const general = pgParser(1184, 'text') as (s: string) => Date | number;

/** PostgreSQL's text form of a UTC timestamptz: microseconds with trailing zeros dropped, no fraction when zero. */
function pgText(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString();
  const frac = `${iso.slice(20, 23)}${String(micros).padStart(3, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ''}+00`;
}

describe('parseTimestamptz', () => {
  it('reads what pg reads, for every fraction length and across the years', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const forms = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const ms = Date.UTC(1000, 0, 1) + (next() / 2 ** 31) * (Date.UTC(9999, 11, 31) - Date.UTC(1000, 0, 1));
      const rounded = i % 7 === 0 ? Math.floor(ms / 1000) * 1000 : Math.floor(ms);
      const text = pgText(rounded, i % 3 === 0 ? 0 : next() % 1000);
      forms.add(text.length);
      expect(parseTimestamptz(text).getTime(), text).toBe((general(text) as Date).getTime());
    }
    expect([...forms].sort()).toEqual([22, 24, 25, 26, 27, 28, 29]);
  });

  it('hands every other form to pg: other time zones, early and late years, BC, infinity', () => {
    for (const text of [
      '2026-12-02 08:44:35.123456+01',
      '2026-12-02 08:44:35-05:30',
      '2026-12-02 08:44:35.5+05:45:10',
      '0099-01-01 00:00:00+00',
      '0999-06-30 12:00:00.25+00',
      '12026-01-01 00:00:00+00',
      '2026-01-01 00:00:00+00 BC',
      'infinity',
      '-infinity',
    ]) {
      expect(String(parseTimestamptz(text).valueOf()), text).toBe(String(general(text).valueOf()));
    }
  });

  it('is what the hot queries get for timestamptz and text arrays, and pg’s own parser for everything else', () => {
    expect(hotRowTypes.getTypeParser(1184, 'text')).toBe(parseTimestamptz);
    expect(hotRowTypes.getTypeParser(1184)).toBe(parseTimestamptz);
    const hot = hotRowTypes.getTypeParser as (oid: number, format?: 'text' | 'binary') => unknown;
    expect(hot(1009, 'text')).toBe(parseTextArray);
    expect(hot(1015, 'text')).toBe(parseTextArray);
    for (const oid of [16, 20, 23, 25, 1114, 1007, 3802]) expect(hot(oid, 'text')).toBe(pgParser(oid, 'text'));
  });
});

const generalArray = pgParser(1009, 'text');

describe('parseTextArray', () => {
  it('reads what pg reads, quoted, escaped, NULL and nested forms included', () => {
    for (const text of [
      '{}',
      '{api_key}',
      '{api_key,client_secret,refresh_token}',
      '{NULL}',
      '{a,NULL,b}',
      '{"NULL",null,Null}',
      '{""}',
      '{"a b","c,d","e\\"f","g\\\\h"}',
      '{"{x}",y}',
      '{{a,b},{c,d}}',
      '{ünïcödé,日本}',
      '{user-1,user.2,user_3@example.com}',
    ]) {
      expect(parseTextArray(text), text).toEqual(generalArray(text));
    }
  });

  it('gives every caller its own array', () => {
    const a = parseTextArray('{}');
    a.push('x');
    expect(parseTextArray('{}')).toEqual([]);
  });
});
