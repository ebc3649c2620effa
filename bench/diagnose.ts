/**
 * Why the numbers are what they are, measured on the current code rather than written down once:
 * the real services (buildServices) run on a Prisma client that logs its SQL, so we see which
 * statements each operation sends; each SELECT is then re-run under EXPLAIN ANALYZE with the same
 * parameters to see how many rows it reads and how long the database takes.
 */
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { type AppConfig, buildServices } from '../src/app.js';
import type { Db } from '../src/db/prisma.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import type { Crypto } from '../src/lib/crypto.js';
import type { Caller } from '../src/modules/projects/projects.service.js';

export type Statement = { sql: string; params: unknown[]; label: string; rowsRead?: number; execMs?: number };
export type OperationDiag = { operation: string; statements: Statement[] };

type PlanNode = { 'Node Type': string; 'Actual Rows'?: number; 'Actual Loops'?: number; 'Rows Removed by Filter'?: number; Plans?: PlanNode[] };

/** Rows the scans produced or threw away: what the statement had to read. */
function rowsRead(node: PlanNode): number {
  const own = /Scan$/.test(node['Node Type']) ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + rowsRead(p), 0);
}

/** "SELECT connected_accounts", "COUNT connected_accounts", "INSERT connected_accounts", "COMMIT". */
function labelOf(sql: string): string {
  const s = sql.trim();
  const table = /(?:FROM|INTO|UPDATE)\s+(?:"?public"?\.)?"?(\w+)"?/i.exec(s)?.[1] ?? '';
  if (/^SELECT\s+COUNT\(/i.test(s)) return `COUNT ${table}`;
  const verb = /^\w+/.exec(s)?.[0]?.toUpperCase() ?? '?';
  return table ? `${verb} ${table}` : verb;
}

export async function diagnose(o: {
  databaseUrl: string;
  pool: pg.Pool;
  config: AppConfig;
  crypto: Crypto;
  caller: Caller;
  authConfigId: string;
  accountId: string;
  deepCursor: string;
}): Promise<OperationDiag[]> {
  const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: o.databaseUrl, max: 2 }), log: [{ emit: 'event', level: 'query' }] });
  const seen: Statement[] = [];
  client.$on('query', (e) => seen.push({ sql: e.query, params: JSON.parse(e.params) as unknown[], label: labelOf(e.query) }));
  // The hot reads go straight to pg: record those statements too.
  const pool = new pg.Pool({ connectionString: o.databaseUrl, max: 2 });
  const poolQuery = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
    const q = args[0] as string | { text: string; values?: unknown[] };
    const sql = typeof q === 'string' ? q : q.text;
    seen.push({ sql, params: (typeof q === 'string' ? (args[1] as unknown[]) : q.values) ?? [], label: labelOf(sql) });
    return poolQuery(...args);
  };
  const services = buildServices({ config: o.config, db: client as unknown as Db, pool, crypto: o.crypto }, () => {});
  const listQuery = { order_by: 'created_at', order_direction: 'desc', account_type: 'PRIVATE', limit: 20 } as const;
  const ops: [string, () => Promise<unknown>][] = [
    ['read by id', () => services.connectedAccounts.get(o.caller, o.accountId)],
    ['list, first page', () => services.connectedAccounts.list(o.caller, listQuery)],
    ['list, deep page', () => services.connectedAccounts.list(o.caller, { ...listQuery, cursor: o.deepCursor })],
    [
      'create',
      () =>
        services.connectedAccounts.create(o.caller, {
          auth_config: { id: o.authConfigId },
          connection: { user_id: 'bench_diagnose', state: { authScheme: 'API_KEY', val: { api_key: 'lin_api_diagnose' } } },
        }),
    ],
  ];
  const out: OperationDiag[] = [];
  try {
    for (const [operation, fn] of ops) {
      await fn(); // once to warm Prisma's caches
      seen.length = 0;
      await fn();
      out.push({ operation, statements: seen.splice(0) });
    }
  } finally {
    await client.$disconnect();
    await pool.end();
  }
  for (const op of out) {
    for (const st of op.statements) {
      if (!/^SELECT/i.test(st.sql.trim())) continue;
      const { rows } = await o.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${st.sql}`,
        st.params,
      );
      const plan = rows[0]!['QUERY PLAN'][0];
      st.rowsRead = rowsRead(plan.Plan);
      st.execMs = plan['Execution Time'];
    }
  }
  return out;
}
