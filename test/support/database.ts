/** Databases for tests, on the run's server: a fresh migrated one per file, or an empty one. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './global-setup.js';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: inject('serverUrl') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new database (a clone of `template` when given), dropped by `drop()`. Names carry the run's id. */
async function newDatabase(kind: string, template?: string) {
  const owner = inject('templateDb').split('_').pop();
  const name = `latchkey_test_${owner}_${kind}${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`));
  return {
    url: withDatabase(inject('serverUrl'), name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

/** A fresh database per test file, cloned from the migrated template. */
export const freshDatabase = () => newDatabase('', inject('templateDb'));

/** An empty database (no migrations). */
export const emptyDatabase = () => newDatabase('empty_');
