/**
 * The registry of sealed values: every encrypted value Latchkey stores, where it lives, and the
 * associated data that binds it to its owner (so a value copied to another row does not open).
 *
 * Services seal and open only through `sealedValues(crypto)`, naming an entry; `latchkey keys rotate`
 * walks SEALED_COLUMNS, so a value added here is re-sealed too; and test/sealed-registry.test.ts
 * fails when any column of the database holds a sealed value that is not listed here.
 */
import type { Crypto } from './crypto.js';

export type SealedColumn = {
  table: string;
  column: string;
  /** For a JSON column holding a sealed value under one key (the outbox's account snapshot). */
  jsonKey?: string;
  /** The column naming the row the associated data binds to (the sealed value's owner). */
  ownerColumn: string;
  /** The associated data's kind: `<kind>:<project id>/<owner id>`. */
  kind: string;
  /** What the value is, for the rotation report and the docs. */
  what: string;
  /** Rows per rotation read when values are large (megabytes), instead of the rotation's default. */
  batchSize?: number;
};

export const SEALED_COLUMNS = {
  connectedAccountState: {
    table: 'connected_accounts',
    column: 'state',
    ownerColumn: 'id',
    kind: 'connected_account',
    what: "a connected account's credentials and connection fields",
  },
  outboxAccountSnapshot: {
    table: 'webhook_events',
    column: 'snapshot',
    jsonKey: 'state',
    ownerColumn: 'account_id',
    kind: 'connected_account',
    what: "the account's credentials inside an outbox event not yet delivered",
  },
  authConfigCredentials: {
    table: 'auth_configs',
    column: 'credentials',
    ownerColumn: 'id',
    kind: 'auth_config',
    what: "an auth config's app credentials (client secret, ...)",
  },
  oauthCodeVerifier: {
    table: 'oauth_attempts',
    column: 'code_verifier',
    ownerColumn: 'id',
    kind: 'oauth_attempt',
    what: 'the PKCE verifier of an OAuth redirect in flight',
  },
  webhookSecret: {
    table: 'webhook_subscriptions',
    column: 'secret',
    ownerColumn: 'id',
    kind: 'webhook',
    what: "a webhook subscription's signing secret",
  },
  webhookPreviousSecret: {
    table: 'webhook_subscriptions',
    column: 'previous_secret',
    ownerColumn: 'id',
    kind: 'webhook',
    what: "a webhook subscription's rotated-out signing secret (during its grace period)",
  },
  callbackSessionGrant: {
    table: 'callback_sessions',
    column: 'pending_grant',
    ownerColumn: 'id',
    kind: 'callback_session',
    what: 'the tokens of a parked OAuth callback, waiting for the app to verify its user (complete_auth)',
  },
  registeredClientSecret: {
    table: 'registered_clients',
    column: 'client_secret',
    ownerColumn: 'id',
    kind: 'oauth_client',
    what: 'the secret of an OAuth client Latchkey registered at an MCP server\'s authorization server',
  },
  proxyFileBytes: {
    table: 'proxy_files',
    column: 'sealed_bytes',
    ownerColumn: 'id',
    kind: 'proxy_file',
    what: "a provider's binary response kept for download (its base64, sealed)",
    batchSize: 10,
  },
} as const satisfies Record<string, SealedColumn>;

export type SealedName = keyof typeof SEALED_COLUMNS;

/** The associated data of a sealed value: its kind, project and owner. */
export function associatedData(name: SealedName, projectId: string, ownerId: string): string {
  return `${SEALED_COLUMNS[name].kind}:${projectId}/${ownerId}`;
}

/** Sealing and opening by registry entry; callers never build associated data themselves. */
export function sealedValues(crypto: Pick<Crypto, 'seal' | 'open'>) {
  return {
    seal: (name: SealedName, projectId: string, ownerId: string, plaintext: string) =>
      crypto.seal(plaintext, associatedData(name, projectId, ownerId)),
    open: (name: SealedName, projectId: string, ownerId: string, sealed: string) =>
      crypto.open(sealed, associatedData(name, projectId, ownerId)),
    sealJson: (name: SealedName, projectId: string, ownerId: string, value: unknown) =>
      crypto.seal(JSON.stringify(value), associatedData(name, projectId, ownerId)),
    openJson: <T = Record<string, unknown>>(name: SealedName, projectId: string, ownerId: string, sealed: string) =>
      JSON.parse(crypto.open(sealed, associatedData(name, projectId, ownerId))) as T,
  };
}
export type SealedValues = ReturnType<typeof sealedValues>;
