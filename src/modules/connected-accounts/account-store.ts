/**
 * The one writer of `connected_accounts`. Every module that changes an account (this one, oauth,
 * connect-links, auth-configs' cascade, key rotation) does it through this store, so:
 * - the account's `state` is sealed and opened here only, through the registry (lib/sealed.ts);
 * - every status change runs the transition rules (state-machine.ts) and is a compare-and-set on
 *   the status the caller read, so two racing writers cannot both move an account;
 * - another module's row that belongs with a write (an OAuth attempt, a link session) is written by
 *   that module's repository inside the store's transaction, through an `alongside(tx)` callback.
 * - every create, patch, status move and delete writes its audit record in the same transaction
 *   (the record names the acting API key, operator or `system`; audit-context.ts).
 * test/table-owner.test.ts fails if any file outside this folder writes the table.
 */
import type pg from 'pg';
import type { Db, Prisma } from '../../db/prisma.js';
import type { Crypto } from '../../lib/crypto.js';
import { sealedValues } from '../../lib/sealed.js';
import type { AuditAction } from '../audit/audit.actions.js';
import type { AuditService } from '../audit/audit.service.js';
import { auditedStatement } from '../audit/audit.repository.js';
import { type Acl, NO_ACL } from './shared-access.js';
import { type Status, transition } from './state-machine.js';

export type Val = Record<string, unknown>;
export type Tx = Prisma.TransactionClient;
/** Another module's write that belongs in the same transaction as the account's. */
export type Alongside = (tx: Tx) => Promise<unknown>;

/** What a caller knows of an account: which one, and the status it read (the compare-and-set's base). */
export type AccountRef = { projectId: string; id: string; status: string };

export type NewAccount = {
  id: string;
  projectId: string;
  authConfigId: string;
  toolkitSlug: string;
  userId: string;
  authScheme: string;
  status: Status;
  /** The connection's fields, sealed here. */
  val: Val;
  secretKeys: string[];
  alias: string | null;
  wordId: string;
  callbackUrl: string | null;
  accountType: string;
  /** None when omitted. */
  labels?: string[];
  /** SHARED accounts: who else may use it (shared-access.ts); deny-by-default when omitted. */
  acl?: Acl;
  /** Minted tokens: when the one written expires (the refresh machinery re-mints before). */
  tokenExpiresAt?: Date | null;
  /** An account created FAILED says why. */
  statusReason?: string | null;
};

/** Fields a write may change besides the status. `val` is sealed here; `reason` is the status reason. */
export type Change = {
  reason?: string | null;
  val?: Val;
  secretKeys?: string[];
  alias?: string | null;
  callbackUrl?: string | null;
  /** Replaces the labels. */
  labels?: string[];
  /** Replaces the ACL (the caller merges a PATCH into the stored one). */
  acl?: Acl;
  tokenExpiresAt?: Date | null;
  refreshFailures?: number;
  nextRefreshAt?: Date | null;
};

/** How long a process may hold the refresh lease before another may take over. */
export const LEASE_MS = 30_000;

/** Statuses whose tokens a refresh may still replace (a disabled account keeps its grant alive). */
const HOLDS_TOKENS = ['ACTIVE', 'INACTIVE'];

/** Inserts only while the auth config is live and enabled, so the check and the write are one statement. */
const INSERT_SQL = `
  INSERT INTO connected_accounts (id, project_id, auth_config_id, toolkit_slug, user_id, auth_scheme, status,
                                  state, secret_keys, alias, word_id, callback_url, account_type, labels,
                                  acl_allow_all_users, acl_allowed_user_ids, acl_not_allowed_user_ids, token_expires_at, status_reason,
                                  created_at, updated_at)
  SELECT $1::varchar, $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::varchar, $7::varchar, $8::text,
         $9::text[], $10::varchar, $11::varchar, $12::varchar, $13::varchar, $14::text[],
         $15::boolean, $16::text[], $17::text[], $18::timestamptz, $19::varchar, now(), now()
   WHERE EXISTS (SELECT 1 FROM auth_configs
                  WHERE id = $3::varchar AND project_id = $2::varchar AND status = 'ENABLED' AND deleted_at IS NULL)`;

/** Re-sealing keeps `updated_at`: a key rotation is not a change of the account. */
const RESEAL_SQL = 'UPDATE connected_accounts SET state = $4 WHERE id = $1 AND project_id = $2 AND state = $3';

/** The audit action of a status move: the administrative ones by name, the rest as a status change. */
function moveAction(from: string, to: Status): AuditAction {
  if (to === 'INACTIVE') return 'connected_account.disable';
  if (to === 'ACTIVE' && from === 'INACTIVE') return 'connected_account.enable';
  if (to === 'REVOKED') return 'connected_account.revoke';
  return 'connected_account.status_change';
}

/** What a patch changed, by name (`val` is the credentials): never a value. */
const changedFields = (c: Omit<Change, 'reason'>) => Object.keys(c).filter((k) => k !== 'secretKeys').map((k) => (k === 'val' ? 'credentials' : k)).sort();

export function accountStore(deps: { db: Db; pool: pg.Pool; crypto: Pick<Crypto, 'seal' | 'open'>; audit: Pick<AuditService, 'record'> }) {
  const { db, pool, audit } = deps;
  const sealed = sealedValues(deps.crypto);
  const seal = (projectId: string, id: string, val: Val) => sealed.sealJson('connectedAccountState', projectId, id, val);

  function toData(ref: { projectId: string; id: string }, c: Change): Prisma.ConnectedAccountUpdateManyMutationInput {
    return {
      ...(c.reason !== undefined ? { statusReason: c.reason } : {}),
      ...(c.val !== undefined ? { state: seal(ref.projectId, ref.id, c.val) } : {}),
      ...(c.secretKeys !== undefined ? { secretKeys: c.secretKeys } : {}),
      ...(c.alias !== undefined ? { alias: c.alias } : {}),
      ...(c.callbackUrl !== undefined ? { callbackUrl: c.callbackUrl } : {}),
      ...(c.labels !== undefined ? { labels: c.labels } : {}),
      ...(c.acl !== undefined ? aclColumns(c.acl) : {}),
      ...(c.tokenExpiresAt !== undefined ? { tokenExpiresAt: c.tokenExpiresAt } : {}),
      ...(c.refreshFailures !== undefined ? { refreshFailures: c.refreshFailures } : {}),
      ...(c.nextRefreshAt !== undefined ? { nextRefreshAt: c.nextRefreshAt } : {}),
    };
  }

  const aclColumns = (acl: Acl) => ({ aclAllowAllUsers: acl.allowAllUsers, aclAllowedUserIds: acl.allowedUserIds, aclNotAllowedUserIds: acl.notAllowedUserIds });

  const live = (ref: AccountRef) => ({ id: ref.id, projectId: ref.projectId, status: ref.status, deletedAt: null });

  /** Writes a status change (or a same-status patch) with `alongside` in one transaction. */
  async function casWith(ref: AccountRef, data: Prisma.ConnectedAccountUpdateManyMutationInput, alongside: Alongside) {
    return db.$transaction(async (tx) => {
      const r = await tx.connectedAccount.updateMany({ where: live(ref), data });
      if (r.count !== 1) return false;
      await alongside(tx);
      return true;
    });
  }

  const record = (tx: Tx, ref: { projectId: string; id: string }, action: AuditAction, detail?: Record<string, unknown>) =>
    audit.record(tx, { projectId: ref.projectId, action, objectId: ref.id, detail });

  return {
    /** The account's fields (`state.val` without `status`). Throws DecryptError when they do not open. */
    open: (row: { projectId: string; id: string; state: string }): Val => sealed.openJson<Val>('connectedAccountState', row.projectId, row.id, row.state),

    /**
     * Opens an account. Alone, it is one prepared INSERT (the create hot path) that also checks the
     * auth config is still live and enabled: false when it is not. A duplicate alias raises P2002.
     * With `alongside`, the account and the other row are written in one transaction.
     */
    async create(a: NewAccount, alongside?: Alongside): Promise<boolean> {
      const state = seal(a.projectId, a.id, a.val);
      const labels = a.labels ?? [];
      const acl = a.acl ?? NO_ACL;
      const detail = { toolkit: a.toolkitSlug, auth_scheme: a.authScheme, status: a.status };
      if (alongside) {
        const { val: _val, acl: _acl, ...row } = a;
        await db.$transaction(async (tx) => {
          await tx.connectedAccount.create({ data: { ...row, labels, ...aclColumns(acl), state }, select: { id: true } });
          await alongside(tx);
          await record(tx, a, 'connected_account.create', detail);
        });
        return true;
      }
      // The prepared INSERT and its audit record as one statement: atomic, one round trip.
      const { text, values } = auditedStatement(
        INSERT_SQL,
        [a.id, a.projectId, a.authConfigId, a.toolkitSlug, a.userId, a.authScheme, a.status, state, a.secretKeys, a.alias, a.wordId, a.callbackUrl, a.accountType, labels,
         acl.allowAllUsers, acl.allowedUserIds, acl.notAllowedUserIds, a.tokenExpiresAt ?? null, a.statusReason ?? null],
        { projectId: a.projectId, action: 'connected_account.create', objectId: a.id, detail },
      );
      try {
        const r = await pool.query({ name: 'connected_account_insert_audited', text, values });
        return r.rowCount === 1;
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw Object.assign(new Error('unique violation'), { code: 'P2002' });
        throw err;
      }
    },

    /**
     * Moves an account from the status the caller read to `to`: the transition rules decide (a
     * 409 when the move is not allowed), and the write applies only while the status is still the
     * one read. False when another writer got there first. A reason not given is cleared.
     */
    async move(ref: AccountRef, to: Status, change: Change = {}, alongside?: Alongside): Promise<boolean> {
      transition(ref.status as Status, to);
      const data = { ...toData(ref, { reason: null, ...change }), status: to };
      return casWith(ref, data, async (tx) => {
        await alongside?.(tx);
        await record(tx, ref, moveAction(ref.status, to), { from: ref.status, to });
      });
    },

    /** Changes fields other than the status (credentials, alias, labels, ACL), while the status is still the one read. */
    async patch(ref: AccountRef, change: Omit<Change, 'reason'>): Promise<boolean> {
      const data = toData(ref, change);
      if (!Object.keys(data).length) return true;
      return casWith(ref, data, (tx) => record(tx, ref, 'connected_account.update', { fields: changedFields(change) }));
    },

    /** Takes the refresh lease of an ACTIVE account; false while another process holds it. */
    async acquireLease(ref: { projectId: string; id: string }): Promise<boolean> {
      const now = new Date();
      const r = await db.connectedAccount.updateMany({
        where: { id: ref.id, projectId: ref.projectId, status: 'ACTIVE', deletedAt: null, OR: [{ refreshLeaseUntil: null }, { refreshLeaseUntil: { lt: now } }] },
        data: { refreshLeaseUntil: new Date(now.getTime() + LEASE_MS) },
      });
      return r.count === 1;
    },

    /**
     * Releases the refresh lease, writing the refresh's outcome with it:
     * - `tokens`: new tokens, kept only while the account still holds tokens (ACTIVE or INACTIVE;
     *   never written over a revocation or a new consent that happened meanwhile);
     * - `expire`: the grant is dead, a move to EXPIRED (compare-and-set on the status read);
     * - `backoff`: bookkeeping of a transient failure.
     * The lease is released in every case.
     */
    async releaseLease(
      ref: AccountRef,
      outcome: { tokens?: Change; expire?: Change; backoff?: Pick<Change, 'refreshFailures' | 'nextRefreshAt'> } = {},
    ): Promise<boolean> {
      const where = { id: ref.id, projectId: ref.projectId, deletedAt: null };
      const release = { refreshLeaseUntil: null };
      let written = false;
      if (outcome.expire) {
        transition(ref.status as Status, 'EXPIRED');
        const data = { ...toData(ref, outcome.expire), status: 'EXPIRED', ...release };
        written = (await db.connectedAccount.updateMany({ where: { ...where, status: ref.status }, data })).count === 1;
      } else if (outcome.tokens) {
        const data = { ...toData(ref, outcome.tokens), ...release };
        written = (await db.connectedAccount.updateMany({ where: { ...where, status: { in: HOLDS_TOKENS } }, data })).count === 1;
      } else if (outcome.backoff) {
        written = (await db.connectedAccount.updateMany({ where, data: { ...toData(ref, outcome.backoff), ...release } })).count === 1;
      }
      if (!written) await db.connectedAccount.updateMany({ where: { id: ref.id, projectId: ref.projectId }, data: release });
      return written;
    },

    /** Soft delete: gone from every read; the alias is given up. */
    async softDelete(projectId: string, id: string): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const r = await tx.connectedAccount.updateMany({ where: { id, projectId, deletedAt: null }, data: { deletedAt: new Date(), alias: null } });
        if (r.count !== 1) return false;
        await record(tx, { projectId, id }, 'connected_account.delete');
        return true;
      });
    },

    /** The accounts of a deleted auth config go with it, in the config's own transaction. */
    async softDeleteForAuthConfig(tx: Tx, projectId: string, authConfigId: string, at: Date) {
      await tx.connectedAccount.updateMany({ where: { authConfigId, projectId, deletedAt: null }, data: { deletedAt: at, alias: null } });
    },

    /**
     * Redirects never completed in time: INITIATED accounts untouched since `olderThan` become
     * FAILED (one statement; the rules are checked once for the move they all make).
     */
    async failStaleInitiated(olderThan: Date, reason: string): Promise<number> {
      const to = transition('INITIATED', 'FAILED');
      const r = await db.connectedAccount.updateMany({
        where: { status: 'INITIATED', updatedAt: { lt: olderThan }, deletedAt: null },
        data: { status: to, statusReason: reason },
      });
      return r.count;
    },

    /** Key rotation: writes the re-sealed state if the stored one is still `oldSealed`. */
    async reseal(row: { id: string; projectId: string }, oldSealed: string, newSealed: string): Promise<boolean> {
      const r = await pool.query({ name: 'connected_account_reseal', text: RESEAL_SQL, values: [row.id, row.projectId, oldSealed, newSealed] });
      return r.rowCount === 1;
    },
  };
}
export type AccountStore = ReturnType<typeof accountStore>;
