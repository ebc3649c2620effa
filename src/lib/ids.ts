/** Prefixed random ids (`proj_…`, `ak_…`, `ca_…`), Composio style. */
import { randomInt } from 'node:crypto';
import { customAlphabet } from 'nanoid';

const ALPHANUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const idBody = customAlphabet(ALPHANUM, 12);
const secretBody = customAlphabet(ALPHANUM, 40);

export const ID_PREFIXES = {
  project: 'proj',
  apiKeyId: 'key',
  customToolkit: 'tk',
  authConfig: 'ac',
  connectedAccount: 'ca',
  linkToken: 'lt',
  oauthAttempt: 'oa',
  linkSession: 'ls',
  webhookSubscription: 'ws',
  webhookDelivery: 'wd',
  webhookAttempt: 'wa',
  proxyCall: 'pc',
  callbackSession: 'cs',
  registeredClient: 'rc',
  consoleUser: 'cu',
  consoleSession: 'csn',
  consoleSignInLink: 'csl',
  auditLog: 'al',
} as const;

export function newId(kind: keyof typeof ID_PREFIXES): string {
  return `${ID_PREFIXES[kind]}_${idBody()}`;
}

const randomTail = customAlphabet(ALPHANUM, 8);
/** Milliseconds since 1970 as 8 base-62 digits (enough until the year 8888), so ids sort by time. */
function timeDigits(ms: number): string {
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHANUM[ms % 62]! + out;
    ms = Math.floor(ms / 62);
  }
  return out;
}

/**
 * An id for a row of an append-only table (audit records, webhook deliveries and attempts, proxy
 * calls): the time first, then 8 random base-62 characters (about 48 bits, per millisecond). New
 * rows then land at the right-hand edge of the primary key's index, on pages already in memory;
 * a random id lands on any page of it, and the first change to a page after each checkpoint writes
 * the whole page to the WAL (bench/README.md: 40,000 rows into a 2,000,000-row table right after a
 * checkpoint wrote 7× the WAL with random keys). No difference in creates/s was measured either way.
 * Not for anything a caller could guess to its advantage: the time in it is not a secret.
 */
export function newOrderedId(kind: keyof typeof ID_PREFIXES, now = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${timeDigits(now)}${randomTail()}`;
}

/** A Connect Link token: `lt_` + 40 base62 characters; single-use, short-lived. */
export function newLinkToken(): string {
  return `${ID_PREFIXES.linkToken}_${secretBody()}`;
}

/** A console session cookie or sign-in link token: a prefix + 40 base62 characters. */
export function newConsoleToken(prefix: 'cst' | 'csi'): string {
  return `${prefix}_${secretBody()}`;
}

/** A proxied binary response's download id: `file_` + 40 base62 characters (unguessable). */
export function newFileId(): string {
  return `file_${secretBody()}`;
}

/** A project API key: `ak_` + 40 base62 characters (about 238 bits). */
export function newApiKeySecret(): string {
  return `ak_${secretBody()}`;
}

/** The shape of every id Latchkey issues; used to reject malformed ids before any query. */
export function idPattern(kind: keyof typeof ID_PREFIXES): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9A-Za-z]{6,40}$`);
}

const ADJECTIVES = ['amber', 'brave', 'calm', 'dusty', 'eager', 'fancy', 'gentle', 'happy', 'icy', 'jolly', 'keen', 'lucky', 'merry', 'noble', 'olive', 'proud', 'quick', 'red', 'silver', 'tidy', 'urban', 'vivid', 'witty', 'young', 'zesty', 'bold', 'crisp', 'deep', 'fair', 'green'];
const NOUNS = ['anchor', 'bridge', 'castle', 'delta', 'ember', 'falcon', 'garden', 'harbor', 'island', 'jungle', 'kite', 'lantern', 'meadow', 'nebula', 'orchard', 'pepper', 'quartz', 'river', 'summit', 'tiger', 'umbrella', 'valley', 'willow', 'yarrow', 'zephyr', 'maple', 'comet', 'pine', 'otter', 'beacon'];
const pick = (list: string[]) => list[randomInt(list.length)]!;

/** A short, memorable handle for an account, e.g. `linear_red-castle` (not unique). */
export function newWordId(toolkitSlug: string): string {
  return `${toolkitSlug}_${pick(ADJECTIVES)}-${pick(NOUNS)}`;
}
