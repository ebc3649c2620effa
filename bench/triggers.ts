/**
 * The outbox trigger's function as the last two migrations that define it do, for a before/after in
 * one run (today: the webhooks migration's, a to_jsonb snapshot per event, and outbox_throughput's, a
 * snapshot per change). Read from the migration files themselves, so the "before" is exactly what
 * was shipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../src/db/schema-engine.js';

function functionIn(migration: string): string {
  const sql = readFileSync(path.join(MIGRATIONS_DIR, migration, 'migration.sql'), 'utf8');
  const m = /CREATE (?:OR REPLACE )?FUNCTION latchkey_connected_account_events\(\)[\s\S]*?\$\$ LANGUAGE plpgsql;/.exec(sql);
  if (!m) throw new Error(`no latchkey_connected_account_events in ${migration}`);
  return m[0].replace(/^CREATE (OR REPLACE )?FUNCTION/, 'CREATE OR REPLACE FUNCTION');
}

const latestDefining = () =>
  readdirSync(MIGRATIONS_DIR)
    .filter((d) => /^\d+_/.test(d))
    .sort()
    .filter((d) => readFileSync(path.join(MIGRATIONS_DIR, d, 'migration.sql'), 'utf8').includes('FUNCTION latchkey_connected_account_events()'));

export const previousOutboxTrigger = () => functionIn(latestDefining().at(-2)!);
export const currentOutboxTrigger = () => functionIn(latestDefining().at(-1)!);
