/**
 * Type parsers for the hand-written hot queries (reads and lists of connected accounts): pg's own,
 * except `timestamptz`, whose general parser (a regular expression and a time-zone pass per value)
 * was 6.6% of a list page's CPU, and one-dimensional text arrays, whose general parser allocated
 * 73 KB per page of 50 accounts (four arrays a row, most of them empty). Passed per query, never
 * installed globally: Prisma's adapter shares the pool and brings parsers of its own.
 */
import pg from 'pg';

const TIMESTAMPTZ = 1184;
/** pg's parser for any type id (its typings list only the scalar built-ins, not the array types). */
const pgParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (text: string) => unknown;
const generalTimestamptz = pgParser(TIMESTAMPTZ, 'text') as (text: string) => Date;

const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
const two = (s: string, i: number) => digit(s, i) * 10 + digit(s, i + 1);

/**
 * PostgreSQL's text form in a UTC session, `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, read digit by digit
 * (to the millisecond, as JavaScript dates hold); anything else (another session time zone, years
 * before 1000 or after 9999, BC, infinity) goes to pg's parser.
 */
export function parseTimestamptz(s: string): Date {
  const n = s.length;
  if (
    n >= 22 &&
    n <= 29 &&
    s.charCodeAt(4) === 45 && // -
    s.charCodeAt(10) === 32 && // space
    s.charCodeAt(n - 3) === 43 && // +
    s.charCodeAt(n - 2) === 48 &&
    s.charCodeAt(n - 1) === 48 &&
    s.charCodeAt(0) !== 48 &&
    (n === 22 || (n >= 24 && s.charCodeAt(19) === 46)) // no fraction, or a dot and 1-6 digits
  ) {
    const fraction = n - 23; // digits after the dot
    const ms = n === 22 ? 0 : digit(s, 20) * 100 + (fraction > 1 ? digit(s, 21) * 10 : 0) + (fraction > 2 ? digit(s, 22) : 0);
    const year = two(s, 0) * 100 + two(s, 2);
    const t = Date.UTC(year, two(s, 5) - 1, two(s, 8), two(s, 11), two(s, 14), two(s, 17), ms);
    if (!Number.isNaN(t)) return new Date(t);
  }
  return generalTimestamptz(s);
}

const TEXT_ARRAY = 1009;
const VARCHAR_ARRAY = 1015;
const generalTextArray = pgParser(TEXT_ARRAY, 'text') as (text: string) => (string | null)[];

/**
 * A one-dimensional text array. PostgreSQL quotes every element that is empty, contains a comma,
 * brace, quote, backslash or white space, or reads as NULL; so with no quote in the text, the
 * elements are exactly what lies between the commas, and an unquoted NULL is SQL NULL. Anything
 * quoted or nested goes to pg's parser.
 */
export function parseTextArray(s: string): (string | null)[] {
  if (s === '{}') return [];
  if (s.charCodeAt(0) === 123 && s.indexOf('"') === -1 && s.indexOf('{', 1) === -1) {
    const parts: (string | null)[] = s.slice(1, -1).split(',');
    for (let i = 0; i < parts.length; i++) if (parts[i] === 'NULL') parts[i] = null;
    return parts;
  }
  return generalTextArray(s);
}

/** The `types` of a pg query config. */
export const hotRowTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === 'binary') return pgParser(oid, format);
    if (oid === TIMESTAMPTZ) return parseTimestamptz;
    if (oid === TEXT_ARRAY || oid === VARCHAR_ARRAY) return parseTextArray;
    return pgParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};
