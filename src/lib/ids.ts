/** Prefixed random ids (`proj_…`, `ak_…`, `ca_…`), Composio style. */
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
} as const;

export function newId(kind: keyof typeof ID_PREFIXES): string {
  return `${ID_PREFIXES[kind]}_${idBody()}`;
}

/** A project API key: `ak_` + 40 base62 characters (about 238 bits). */
export function newApiKeySecret(): string {
  return `ak_${secretBody()}`;
}

/** The shape of every id Latchkey issues; used to reject malformed ids before any query. */
export function idPattern(kind: keyof typeof ID_PREFIXES): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9A-Za-z]{6,40}$`);
}
