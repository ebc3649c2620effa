/**
 * One owner per table: `connected_accounts` is written only by its module's store
 * (src/modules/connected-accounts/account-store.ts). This scans every source file outside that
 * module for a Prisma write on the model or an SQL write on the table, and fails naming the file.
 * Migrations are not scanned (they hold the outbox trigger, which reads the table's changes).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const OWNER = join(SRC, 'modules', 'connected-accounts') + sep;
/** Generated Prisma client: the model's own definitions, not a writer. */
const GENERATED = join(SRC, 'generated') + sep;

const PRISMA_WRITE = /connectedAccount\s*\.\s*(create|createMany|createManyAndReturn|update|updateMany|updateManyAndReturn|upsert|delete|deleteMany)\s*\(/;
const SQL_WRITE = /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?connected_accounts"?\b/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|sql)$/.test(name) ? [path] : [];
  });
}

/** Lines of `text` that write the table, as "file:line: code". */
function writesOf(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (PRISMA_WRITE.test(line) || SQL_WRITE.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

describe('connected_accounts has one writer', () => {
  it('no file outside src/modules/connected-accounts/ writes the table', () => {
    const files = sourceFiles(SRC).filter((f) => !f.startsWith(OWNER) && !f.startsWith(GENERATED));
    expect(files.length).toBeGreaterThan(20);
    const offenders = files.flatMap((f) => writesOf(relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(offenders, 'write connected_accounts through account-store.ts instead').toEqual([]);
  });

  it('the scan recognises every form of write (so it can fail)', () => {
    const samples = [
      'await db.connectedAccount.create({ data })',
      'tx.connectedAccount.updateMany({ where, data })',
      'db.connectedAccount.update({ where, data })',
      'db.connectedAccount.upsert({ where, create, update })',
      'db.connectedAccount.delete({ where })',
      'db.connectedAccount.deleteMany({ where })',
      "pool.query('INSERT INTO connected_accounts (id) VALUES ($1)')",
      'const sql = `UPDATE connected_accounts SET state = $1`',
      "pool.query('delete from \"connected_accounts\" where id = $1')",
    ];
    for (const s of samples) expect(writesOf('sample.ts', s), s).toHaveLength(1);
    for (const s of ['db.connectedAccount.findMany({ where })', 'db.connectedAccount.count()', 'SELECT id FROM connected_accounts', 'JOIN connected_accounts a ON a.id = e.account_id']) {
      expect(writesOf('sample.ts', s), s).toEqual([]);
    }
  });

  it('the owner itself is found by the scan (the patterns match real code)', () => {
    const owner = sourceFiles(OWNER).flatMap((f) => writesOf(relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(owner.some((l) => l.includes('account-store.ts'))).toBe(true);
    expect(owner.every((l) => l.includes('account-store.ts')), owner.join('\n')).toBe(true);
  });
});

describe('audit_logs has one writer, and only appends', () => {
  const AUDIT_OWNER = join(SRC, 'modules', 'audit') + sep;
  const AUDIT_WRITE = /auditLog\s*\.\s*(create|createMany|update|updateMany|upsert|delete|deleteMany)\s*\(|\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?audit_logs"?\b/i;
  const writes = (file: string, text: string) => text.split('\n').flatMap((line, i) => (AUDIT_WRITE.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));

  it('no file outside src/modules/audit/ writes the table', () => {
    const files = sourceFiles(SRC).filter((f) => !f.startsWith(AUDIT_OWNER) && !f.startsWith(GENERATED));
    const offenders = files.flatMap((f) => writes(relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(offenders, 'record through the audit service (audit.record / audit.recordRead) instead').toEqual([]);
  });

  it('the owner inserts, and deletes only to prune; it never updates', () => {
    const lines = sourceFiles(AUDIT_OWNER).flatMap((f) => writes(relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(lines.some((l) => /INSERT INTO audit_logs/.test(l))).toBe(true);
    expect(lines.filter((l) => /UPDATE|update/.test(l))).toEqual([]);
    expect(lines.filter((l) => /DELETE/i.test(l)).every((l) => l.includes('audit.repository.ts') && l.includes('created_at <'))).toBe(true);
  });
});
