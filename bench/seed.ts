/**
 * Bulk seeding of connected accounts, fast but faithful: every row's state is sealed by the real
 * crypto module with the AAD the service uses (`connected_account:<projectId>/<id>`), the sealed
 * value is the JSON of the connection's val, and secret_keys is what the service computes for
 * Linear's API_KEY scheme. Rows go in with one multi-row INSERT ... SELECT FROM unnest(...) per batch.
 */
import { randomInt } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import type pg from 'pg';
import type { Crypto } from '../src/lib/crypto.js';
import { newId, newWordId } from '../src/lib/ids.js';
import { STATUS_REASONS } from '../src/modules/connected-accounts/state-machine.js';

const linearKey = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 40);

/** A Linear personal API key lookalike. */
export const newLinearApiKey = () => `lin_api_${linearKey()}`;

export type SeedOptions = {
  pool: pg.Pool;
  crypto: Pick<Crypto, 'seal'>;
  projectId: string;
  authConfigId: string;
  rows: number;
  batchSize?: number;
  /** created_at is spread evenly (with jitter) over this many days before now. */
  spreadDays?: number;
};

export type SeedResult = {
  ids: string[];
  /** The ~2% seeded INACTIVE. */
  inactive: Set<string>;
  /** A few rows with their plaintext key, to check that the API reads them back. */
  samples: { id: string; userId: string; apiKey: string }[];
  ms: number;
};

const INSERT = `
INSERT INTO connected_accounts
  (id, project_id, auth_config_id, toolkit_slug, user_id, auth_scheme, status, status_reason, state,
   secret_keys, word_id, account_type, created_at, updated_at)
SELECT u.id, $1, $2, 'linear', u.user_id, 'API_KEY', u.status, u.status_reason, u.state,
       ARRAY['api_key']::text[], u.word_id, 'PRIVATE', u.created_at, u.updated_at
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[])
  AS u(id, user_id, status, status_reason, state, word_id, created_at, updated_at)`;

export async function seedConnectedAccounts(o: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const batchSize = o.batchSize ?? 5_000;
  const now = Date.now();
  const spreadMs = (o.spreadDays ?? 365) * 86_400_000;
  const step = spreadMs / o.rows;
  // About 1.4 accounts per end user: some users connect several Linear workspaces.
  const users = Math.max(1, Math.floor(o.rows / 1.4));
  const ids: string[] = [];
  const inactiveIds = new Set<string>();
  const samples: SeedResult['samples'] = [];
  const sampleEvery = Math.max(1, Math.floor(o.rows / 10));

  const build = (from: number, to: number) => {
    const cols = {
      id: [] as string[],
      userId: [] as string[],
      status: [] as string[],
      reason: [] as (string | null)[],
      state: [] as string[],
      wordId: [] as string[],
      createdAt: [] as string[],
      updatedAt: [] as string[],
    };
    for (let i = from; i < to; i++) {
      const id = newId('connectedAccount');
      const userId = `user_${String(randomInt(users)).padStart(7, '0')}`;
      const apiKey = newLinearApiKey();
      // Oldest first, as a real table fills: heap order follows created_at, ties are rare but possible.
      const created = Math.floor(now - spreadMs + i * step + Math.random() * step);
      const updated = Math.min(now, created + randomInt(0, 30 * 86_400_000));
      const inactive = randomInt(50) === 0; // ~2% disabled by their user
      cols.id.push(id);
      cols.userId.push(userId);
      cols.status.push(inactive ? 'INACTIVE' : 'ACTIVE');
      cols.reason.push(inactive ? STATUS_REASONS.userUpdated : null);
      cols.state.push(o.crypto.seal(JSON.stringify({ api_key: apiKey }), `connected_account:${o.projectId}/${id}`));
      cols.wordId.push(newWordId('linear'));
      cols.createdAt.push(new Date(created).toISOString());
      cols.updatedAt.push(new Date(updated).toISOString());
      ids.push(id);
      if (inactive) inactiveIds.add(id);
      if (!inactive && i % sampleEvery === 0) samples.push({ id, userId, apiKey });
    }
    return [o.projectId, o.authConfigId, cols.id, cols.userId, cols.status, cols.reason, cols.state, cols.wordId, cols.createdAt, cols.updatedAt];
  };

  // Seal the next batch while the previous one is being inserted (at most two inserts in flight).
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  for (let from = 0; from < o.rows && failure === undefined; from += batchSize) {
    const params = build(from, Math.min(o.rows, from + batchSize));
    const p: Promise<void> = o.pool.query(INSERT, params).then(
      () => void inflight.delete(p),
      (err: unknown) => {
        failure ??= err;
        inflight.delete(p);
      },
    );
    inflight.add(p);
    if (inflight.size >= 2) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
  return { ids, inactive: inactiveIds, samples, ms: performance.now() - started };
}
