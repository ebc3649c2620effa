/**
 * The results table (console and Markdown) and bench/README.md. Numbers are never rounded in
 * Latchkey's favour: throughput and ratios are truncated, latencies rounded up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { OperationDiag } from './diagnose.js';
import type { WrkResult } from './wrk.js';

/** ratio: to the read ceiling; writeRatio: to the bare INSERT reference (creates only). */
export type Row = { endpoint: string; result: WrkResult; ratio: number | null; writeRatio: number | null };

export type OutboxResults = {
  backlogNoSub: { events: number; seconds: number; perSecond: number };
  backlogOneSub: { events: number; seconds: number; perSecond: number; complete: boolean };
  sustained: { createRps: number; created: number; received: number; p50: number; p99: number; max: number; pendingAfter: number };
};

export type RunInfo = {
  date: Date;
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  postgres: string;
  /** shared_buffers, max_wal_size, synchronous_commit as the server runs them. */
  postgresSettings: string;
  server: string;
  seededRows: number;
  apiCreatedRows: number;
  rowsBeforeMeasuring: number;
  connections: number;
  durationS: number;
  /** Turns that compared runs share (interleaved). */
  slices: number;
  warmupS: number;
  deepRows: number;
  backlog: number;
  seedMs: number;
  totalS: number;
};

export type Goals = {
  readRatio: number;
  createRatio: number;
  /** The verdicts of the goals table (readGoalMet, createGoalMet). */
  readMet: boolean;
  createMet: boolean;
  deepVsFirst: number;
  ceilingRps: number;
  getRps: number;
  firstRps: number;
  deepRps: number;
  createRps: number;
  createBeforeRps: number;
  writeRefRps: number;
  firstP99: number;
  deepP99: number;
  deepRows: number;
};

export type Probe = { label: string; medianMs: number; p90Ms: number; n: number };

/** Server CPU per request under load: the bench process's CPU over the requests it served. */
export const cpuMsPerRequest = (r: WrkResult) => (r.serverCpu / Math.max(1, r.rps)) * 1000;

export type StartupFigures = { coldMs: number; warmMs: number; idleRssMb: number; peakRssMb: number; importMs: number };

/** Everything the goals table needs, all measured in the same run. */
export type GoalInputs = {
  read: WrkResult;
  ceiling: WrkResult;
  create: WrkResult;
  writeRef: WrkResult;
  first: WrkResult;
  deep: WrkResult;
  rows: number;
  outbox: OutboxResults;
  startup: StartupFigures | null;
  /** Microseconds to open one sealed account state in the bench process (measured in the same run). */
  openUs?: number;
};

export type GoalRow = { goal: string; figure: string; met: boolean; reason: string };

const bound = (r: WrkResult, what: string) => (clientBound(r) ? `${what} was client-bound (wrk used as much CPU as the servers): the ratio understates it. ` : '');
/** Why a ratio at or above its goal does not count: the reference was not limited by CPU. */
const unsaturated = (r: WrkResult, what: string) =>
  `Not conclusive: the machine was only ${Math.round(r.machineBusy * 100)}% busy during ${what}'s run (all cores, every process), so ${what} was held back by waiting (round trips, wake-ups), not by its own work, and the app waits the same way: the ratio overstates the app. A ratio goal counts as met only against a reference that kept the machine at least ${Math.round(MACHINE_SATURATED * 100)}% busy. `;

/**
 * Why a page costs more than 6 reads: every listed account's credentials are opened (AES-256-GCM,
 * one cipher set-up each), parsed, built and serialised; with the floor measured in the run when
 * there is one.
 */
function pageReason(g: GoalInputs): string {
  const read = cpuMsPerRequest(g.read);
  const floor = g.openUs === undefined ? '' : ` Opening them alone is ${((49 * g.openUs) / 1000).toFixed(2)} ms more than a read's one (${g.openUs.toFixed(1)} µs each, measured in this run), ${((49 * g.openUs) / 1000 / read).toFixed(1)}× a whole read, before the rows are parsed, built and serialised.`;
  return `A page of 50 for a key that sees credentials opens 50 sealed states, where a read opens one (each queues one audit record).${floor}`;
}

export function goalRows(g: GoalInputs): GoalRow[] {
  const readRatio = g.read.rps / g.ceiling.rps;
  const createRatio = g.create.rps / g.writeRef.rps;
  const depth = Math.max(g.first.rps / Math.max(1, g.deep.rps), g.deep.rps / Math.max(1, g.first.rps));
  const p99Depth = Math.max(g.first.p99 / Math.max(0.001, g.deep.p99), g.deep.p99 / Math.max(0.001, g.first.p99));
  const pageCpu = Math.max(cpuMsPerRequest(g.first), cpuMsPerRequest(g.deep)) / cpuMsPerRequest(g.read);
  const o = g.outbox;
  const at = `at ${g.rows.toLocaleString('en-US')} accounts`;
  const rows: GoalRow[] = [
    {
      goal: 'Read by id ≥ 0.80× the bare SELECT ceiling',
      figure: `${fmtRatio(readRatio)}× (${fmtRps(g.read.rps)} vs ${fmtRps(g.ceiling.rps)} req/s)`,
      met: readGoalMet(g.read, g.ceiling),
      reason:
        bound(g.ceiling, 'The ceiling') +
        (readRatio >= 0.8
          ? saturated(g.ceiling) ? '' : unsaturated(g.ceiling, 'the ceiling')
          : 'Per read the app also checks the API key, counts the rate limit, opens the sealed credentials, joins auth_configs and queues the read\'s audit record (a row and four index entries in PostgreSQL, which shares the machine); the ceiling does none of it. On this machine the ratio has ranged from 0.51 to 0.92 across full runs (the hand-written section).'),
    },
    {
      goal: 'Create ≥ 0.70× the bare INSERT reference',
      figure: `${fmtRatio(createRatio)}× (${fmtRps(g.create.rps)} vs ${fmtRps(g.writeRef.rps)} req/s)`,
      met: createGoalMet(g.create, g.writeRef),
      reason: bound(g.writeRef, 'The reference') + (createRatio >= 0.7 ? (saturated(g.writeRef) ? '' : unsaturated(g.writeRef, 'the reference')) : 'Per create the database also writes three rows the reference does not (the outbox\'s two events, each with the account\'s snapshot, and the audit record) and their ten index entries, in the same statement so none is lost; this process adds validation, the API-key check and the auth-config check. Without connected_accounts\' two foreign keys and with one outbox event a create, `npm run bench:create` measured 0.56-0.66× (the hand-written section): not 0.70× either, and each would change the product.'),
    },
    {
      goal: 'List limit=50: first and deep page within 1.2× (req/s and p99)',
      figure: `req/s ${fmtRatio(depth)}×, p99 ${fmtRatio(p99Depth)}× (${fmtRps(g.first.rps)} / ${fmtRps(g.deep.rps)} req/s)`,
      met: depth <= 1.2 && p99Depth <= 1.2,
      reason: depth <= 1.2 && p99Depth <= 1.2 ? '' : 'Both pages read the same rows (see the statements table), and their req/s agree; their p99 in 2 s turns follows when a turn ran, not the depth: each turn starts with 50 new connections sending at once, which wrk counts and the server does not see (the server\'s own p99 was 57-185 ms in such turns; the audit log and the first page\'s count were ruled out: the hand-written section, "Where a list page\'s p99 comes from").',
    },
    {
      goal: `List limit=50: p99 < 100 ms ${at}`,
      figure: `first ${fmtMs(g.first.p99)} ms, deep ${fmtMs(g.deep.p99)} ms`,
      met: g.first.p99 < 100 && g.deep.p99 < 100,
      reason: g.first.p99 < 100 && g.deep.p99 < 100 ? '' : 'Queueing: 50 connections on two cores shared with PostgreSQL and wrk, the server at one core; one page at a time takes a few milliseconds (the single-request latencies). The server\'s own p99 at 50 connections is at or somewhat above 100 ms on this machine, and the start of each 2 s turn adds to what wrk sees (the hand-written section).',
    },
    {
      goal: 'A page of 50 ≤ 6× one read in server CPU',
      figure: `${fmtRatio(pageCpu)}× (${cpuMsPerRequest(g.first).toFixed(2)} / ${cpuMsPerRequest(g.deep).toFixed(2)} ms vs ${cpuMsPerRequest(g.read).toFixed(2)} ms)`,
      met: pageCpu <= 6,
      reason: pageCpu <= 6 ? '' : pageReason(g),
    },
    {
      goal: 'Outbox, no subscriber: ≥ 2,000 events/s',
      figure: `${fmtRps(o.backlogNoSub.perSecond)} events/s (${o.backlogNoSub.events.toLocaleString('en-US')} in ${o.backlogNoSub.seconds.toFixed(1)} s)`,
      met: o.backlogNoSub.perSecond >= 2000,
      reason: '',
    },
    {
      goal: 'Outbox: keeps up with the fastest create run (2 events a create)',
      figure: `${fmtRatio(o.backlogNoSub.perSecond / Math.max(1, 2 * g.create.rps))}× the event rate of ${fmtRps(g.create.rps)} creates/s`,
      met: o.backlogNoSub.perSecond >= 2 * g.create.rps,
      reason: '',
    },
    {
      goal: 'A 100,000-event backlog to one subscriber drained in < 60 s',
      figure: o.backlogOneSub.complete
        ? `${o.backlogOneSub.events.toLocaleString('en-US')} in ${o.backlogOneSub.seconds.toFixed(1)} s (${fmtRps(o.backlogOneSub.perSecond)} events/s)`
        : `not drained in ${o.backlogOneSub.seconds.toFixed(0)} s (${fmtRps(o.backlogOneSub.perSecond)} events/s)`,
      met: o.backlogOneSub.complete && o.backlogOneSub.seconds * (100_000 / Math.max(1, o.backlogOneSub.events)) < 60,
      reason:
        o.backlogOneSub.complete && o.backlogOneSub.seconds * (100_000 / Math.max(1, o.backlogOneSub.events)) < 60
          ? ''
          : 'Every delivery is a signed POST whose outcome is recorded (about 0.25 ms of PostgreSQL CPU and as much in Node per event); the receiver, the servers and PostgreSQL share the same cores. A time goal: it moves with the machine\'s speed (see the ceiling\'s req/s).',
    },
    {
      goal: 'State change → receiver p99 < 2 s under sustained creates',
      figure: `p99 ${fmtMs(o.sustained.p99)} ms, ${o.sustained.received.toLocaleString('en-US')} of ${o.sustained.created.toLocaleString('en-US')} delivered at ${fmtRps(o.sustained.createRps)} creates/s`,
      met: o.sustained.p99 < 2000 && o.sustained.received >= o.sustained.created,
      reason: o.sustained.p99 < 2000 && o.sustained.received >= o.sustained.created ? '' : 'Fan-out and delivery compete for the same two cores with the create load.',
    },
  ];
  if (g.startup) {
    const s = g.startup;
    rows.push(
      { goal: 'Idle RSS < 120 MB', figure: `${s.idleRssMb.toFixed(0)} MB`, met: s.idleRssMb < 120, reason: s.idleRssMb < 120 ? '' : 'Code loaded at start (Fastify, Prisma, pg-boss, openid-client, zod schemas, the catalogue) and the V8 heap it needs; lazy loading of more of it is not done yet.' },
      { goal: 'Peak RSS < 200 MB (creates, then list pages, 50 connections)', figure: `${s.peakRssMb.toFixed(0)} MB`, met: s.peakRssMb < 200, reason: s.peakRssMb < 200 ? '' : 'V8 heap growth under load.' },
      { goal: 'Warm start on the embedded database < 2 s', figure: `${(s.warmMs / 1000).toFixed(2)} s (cold ${(s.coldMs / 1000).toFixed(2)} s, import ${(s.importMs / 1000).toFixed(2)} s)`, met: s.warmMs < 2000, reason: s.warmMs < 2000 ? '' : 'Importing the app and starting PostgreSQL.' },
    );
  }
  return rows;
}

/** The goals table, as Markdown: printed to the console and written to bench/README.md alike. */
export function goalsTable(rows: GoalRow[]): string {
  const out = ['| goal | figure | met | reason |', '| --- | --- | --- | --- |'];
  for (const r of rows) out.push(`| ${r.goal} | ${r.figure} | ${r.met ? 'met' : '**not met**'} | ${r.reason.trim() || '—'} |`);
  return out.join('\n');
}

const floorTo = (x: number, d: number) => Math.floor(x * 10 ** d) / 10 ** d;
const ceilTo = (x: number, d: number) => Math.ceil(x * 10 ** d) / 10 ** d;
export const fmtRps = (x: number) => Math.floor(x).toLocaleString('en-US');
export const fmtMs = (x: number) => ceilTo(x, 1).toFixed(1);
export const fmtRatio = (x: number) => (x < 0.1 ? floorTo(x, 3).toFixed(3) : floorTo(x, 2).toFixed(2));

function failures(r: WrkResult) {
  const bad = Object.entries(r.statusCodes).filter(([c]) => !c.startsWith('2'));
  const parts = bad.map(([c, n]) => `${n}×${c}`);
  if (r.errors) parts.push(`${r.errors} errors`);
  if (r.timeouts) parts.push(`${r.timeouts} timeouts`);
  return parts.join(', ') || '0';
}

/** The load generator was the bottleneck when it used at least as much CPU as the servers. */
export const clientBound = (r: WrkResult) => r.clientCpu >= r.serverCpu;
/**
 * A reference is CPU-bound when the machine was (nearly) fully busy while it ran. On a machine whose
 * round trips are slow (scheduling, system calls), both servers can wait on their pools with cores
 * idle: then neither is limited by its own work, and their ratio says little.
 */
export const MACHINE_SATURATED = 0.85;
export const saturated = (r: WrkResult) => r.machineBusy >= MACHINE_SATURATED;
/** A ratio goal is met when the ratio reaches it against a reference that was the limit: not client-bound, the machine busy. */
const ratioMet = (ratio: number, goal: number, reference: WrkResult) => ratio >= goal && !clientBound(reference) && saturated(reference);
export const readGoalMet = (read: WrkResult, ceiling: WrkResult) => ratioMet(read.rps / ceiling.rps, 0.8, ceiling);
export const createGoalMet = (create: WrkResult, writeRef: WrkResult) => ratioMet(create.rps / writeRef.rps, 0.7, writeRef);

function cells(row: Row) {
  const r = row.result;
  return [
    row.endpoint,
    fmtRps(r.rps),
    fmtMs(r.p50),
    fmtMs(r.p99),
    row.ratio === null ? '—' : `${fmtRatio(row.ratio)}×`,
    row.writeRatio === null ? '—' : `${fmtRatio(row.writeRatio)}×`,
    `${r.clientCpu.toFixed(2)} / ${r.serverCpu.toFixed(2)} / ${Math.round(r.machineBusy * 100)}%${clientBound(r) ? ' client-bound' : ''}`,
    failures(r),
  ];
}

const HEAD = ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'vs read ceiling', 'vs bare INSERT', 'CPU wrk / servers / machine', 'non-2xx / errors'];

export function consoleTable(rows: Row[]): string {
  const data = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...data.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const out = [`| ${HEAD.join(' | ')} |`, `| --- | ${HEAD.slice(1).map(() => '---:').join(' | ')} |`];
  for (const r of rows) out.push(`| ${cells(r).join(' | ')} |`);
  return out.join('\n');
}

const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

export function standing(g: Goals, diag: OperationDiag[]): string {
  // The same criteria as the Goals table (goalRows).
  const readOk = g.readMet;
  const depth = Math.max(g.deepVsFirst, 1 / Math.max(0.001, g.deepVsFirst));
  const p99Depth = Math.max(g.firstP99 / Math.max(0.001, g.deepP99), g.deepP99 / Math.max(0.001, g.firstP99));
  const deepOk = depth <= 1.2 && p99Depth <= 1.2;
  const createOk = g.createMet;
  const met = [readOk, deepOk, createOk].filter(Boolean).length;
  const op = (name: string) => diag.find((d) => d.operation === name)?.statements ?? [];
  const labels = (sts: OperationDiag['statements']) => sts.map((st) => st.label).join(', ');
  const rowsOf = (st: OperationDiag['statements'][number] | undefined) =>
    st?.rowsRead === undefined ? 'n/a' : `${st.rowsRead.toLocaleString('en-US')} rows (${fmtMs(st.execMs!)} ms in the database)`;
  const read = op('read by id');
  const first = op('list, first page');
  const deep = op('list, deep page');
  const create = op('create');
  const pageSelect = (sts: OperationDiag['statements']) => sts.find((st) => st.label === 'SELECT connected_accounts');
  const count = first.find((st) => st.label.startsWith('COUNT'));
  return [
    `Three of the goals above, with what lies behind them (the same criteria as the Goals table): on this run ${met} of the 3 ${met === 1 ? 'is' : 'are'} met.`,
    `Read by id (goal ≥ 0.80× the ceiling): ${verdict(readOk)} — ${fmtRps(g.getRps)} req/s against the ceiling's ${fmtRps(g.ceilingRps)}, ${fmtRatio(g.readRatio)}×` +
      `${!readOk && g.readRatio >= 0.8 ? ' (not conclusive: the ceiling was not the limit, see the Goals table)' : ''}. ` +
      `It sends ${read.length} statement${read.length === 1 ? '' : 's'} (${labels(read)}) where the ceiling sends one, ` +
      `then checks the API key, opens the sealed credentials, queues the read's audit record (one row written later, with four index entries, in PostgreSQL, which shares the machine) and serialises the response.`,
    `Deep list pages as fast as the first (goal: within 1.2× of each other in req/s and in p99): ${verdict(deepOk)} — ` +
      `${fmtRps(g.deepRps)} req/s ${g.deepRows.toLocaleString('en-US')} rows deep against ${fmtRps(g.firstRps)} req/s for the first page (${fmtRatio(depth)}× apart; p99 ${fmtMs(g.deepP99)} ms against ${fmtMs(g.firstP99)} ms, ${fmtRatio(p99Depth)}× apart). ` +
      `The page SELECT reads ${rowsOf(pageSelect(first))} on the first page and ${rowsOf(pageSelect(deep))} on the deep one` +
      (count ? `; the first page's total counts at most 10,001 accounts, which reads ${rowsOf(count)}.` : '.') +
      ` A list page is 50 decrypted accounts, so it is not expected to approach the one-row ceiling (its ratio is shown for completeness); its goal is only that depth costs nothing.`,
    `Create (goal ≥ 0.70× the bare INSERT reference, measured the same way): ${verdict(createOk)} — ${fmtRps(g.createRps)} req/s against the reference's ${fmtRps(g.writeRefRps)}, ${fmtRatio(g.createRatio)}×. ` +
      `It sends ${create.length} statement${create.length === 1 ? '' : 's'} (${labels(create)}). ` +
      `A create pays the webhook outbox, which the reference does not: a trigger on connected_accounts writes each change's events (for a create, "created" and "activated") in the same transaction, so no event is lost. ` +
      `With the previous trigger (a to_jsonb snapshot per event, one INSERT each), the same create run reached ${fmtRps(g.createBeforeRps)} req/s (${fmtRatio(g.createBeforeRps / g.writeRefRps)}× the reference); ` +
      `the current one builds the snapshot once per change and writes the change's events in one INSERT.`,
  ].join('\n\n');
}

export function outboxStanding(o: OutboxResults): string {
  const drainOk = o.backlogNoSub.perSecond >= 2000 && o.backlogNoSub.seconds < 60 * (o.backlogNoSub.events / 100_000);
  const keepsUp = o.backlogNoSub.perSecond >= 2 * o.sustained.createRps;
  const delayOk = o.sustained.p99 < 2000 && o.sustained.received >= o.sustained.created;
  return [
    `Outbox drain (goal ≥ 2,000 events/s with no subscriber, a 100,000-event backlog in under a minute): ${verdict(drainOk)} — ` +
      `${o.backlogNoSub.events.toLocaleString('en-US')} events in ${o.backlogNoSub.seconds.toFixed(1)} s, ${fmtRps(o.backlogNoSub.perSecond)} events/s with no subscriber; ` +
      (o.backlogOneSub.complete ? `${o.backlogOneSub.events.toLocaleString('en-US')} events delivered to one loopback subscriber in ${o.backlogOneSub.seconds.toFixed(1)} s, ${fmtRps(o.backlogOneSub.perSecond)} events/s. ` : `${o.backlogOneSub.events.toLocaleString('en-US')} events to one loopback subscriber were NOT all delivered within ${o.backlogOneSub.seconds.toFixed(0)} s (${fmtRps(o.backlogOneSub.perSecond)} events/s; not met). `) +
      `Before this change it was measured at 20–150 events/s on the same machine type (one 200-event batch a tick, one transaction per event).`,
    `Keeping up with creates (two events each): ${verdict(keepsUp)} — the drain rate with no subscriber is ${fmtRatio(o.backlogNoSub.perSecond / Math.max(1, 2 * o.sustained.createRps))}× the events the fastest create run produced here.`,
    `State change to receiver under a sustained create load (goal p99 < 2 s, every event delivered): ${verdict(delayOk)} — ` +
      `${fmtRps(o.sustained.createRps)} creates/s with a subscription to "created", the dispatch loop run by pg-boss as in the server: ` +
      `${o.sustained.received.toLocaleString('en-US')} of ${o.sustained.created.toLocaleString('en-US')} events received, delay p50 ${fmtMs(o.sustained.p50)} ms, p99 ${fmtMs(o.sustained.p99)} ms, max ${fmtMs(o.sustained.max)} ms ` +
      `(from the event's timestamp, the committing transaction's start, to its arrival).`,
  ].join('\n\n');
}

function statementsTable(diag: OperationDiag[]) {
  const out = ['| operation | statements, in order | rows read by its SELECTs | database time of its SELECTs |', '| --- | --- | ---: | ---: |'];
  for (const d of diag) {
    const selects = d.statements.filter((s) => s.rowsRead !== undefined);
    out.push(
      `| ${d.operation} | ${d.statements.map((s) => s.label).join(', ')} | ${selects.length ? selects.map((s) => s.rowsRead!.toLocaleString('en-US')).join(' + ') : '— (no SELECT)'} | ` +
        `${selects.length ? `${selects.map((s) => fmtMs(s.execMs!)).join(' + ')} ms` : '—'} |`,
    );
  }
  return out.join('\n');
}

/** Everything from this heading on in bench/README.md is hand-written and kept by every run. */
export const HAND_WRITTEN = '## Measurements behind the changes (hand-written, kept by `npm run bench`)';

export function writeReadme(file: string, info: RunInfo, rows: Row[], goals: Goals, probes: Probe[], notes: string[], diag: OperationDiag[], outbox: OutboxResults, goalTable: string) {
  let kept = '';
  try {
    const old = readFileSync(file, 'utf8');
    const at = old.indexOf(HAND_WRITTEN);
    if (at >= 0) kept = `\n${old.slice(at).trimEnd()}\n`;
  } catch {
    // no README yet
  }
  const date = info.date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const text = `# Latchkey benchmark

Throughput and tail latency of Latchkey's hottest connected-account endpoints, measured against a
bare "ceiling" server on the same machine, database and data; the webhook outbox; start-up and memory.
\`npm run bench\` rewrites this file on every run from bench/report.ts (edit that), except the
hand-written section at its end, which it keeps.

## How to run

\`\`\`sh
npm run bench                                               # embedded PostgreSQL in a temp folder
BENCH_DATABASE_URL=postgres://user@127.0.0.1:5432/postgres npm run bench   # an existing server
\`\`\`

- With \`BENCH_DATABASE_URL\`, the run creates its own \`latchkey_bench_<random>\` database on that
  server and drops it at the end; nothing else there is touched. Without it, an embedded PostgreSQL
  is started in a temporary folder that is removed afterwards.
- It needs \`wrk\` (Debian: \`apt-get install wrk\`); without it the run says so and stops.
- Optional knobs (defaults in brackets; the README records the values used): \`BENCH_ROWS\` [1000000],
  \`BENCH_DURATION_S\` [10], \`BENCH_WARMUP_S\` [2], \`BENCH_CONNECTIONS\` [50], \`BENCH_BACKLOG\` [100000],
  \`BENCH_SLICES\` [5] (the turns compared runs share).
- A whole run takes several minutes on a 2-core machine and stops by itself; a watchdog aborts it
  (cleaning up) after 19 minutes. It is not part of \`npm test\`. \`npm run bench:cpu\` (server CPU per
  request, and the database's, one request at a time, on a small table) is the quick, load-independent check while working;
  \`npm run bench:outbox\` is its counterpart for the webhook outbox (CPU per delivered event, in Node and
  in the database's backends, over a 20,000-event backlog; then the delay under creates);
  \`npm run bench:wal\` compares the previous and the current outbox trigger: the write-ahead log a
  create writes, and creates/s under load; \`npm run bench:create\` measures what the create's gap to the
  bare INSERT is made of (creates as shipped, without connected_accounts' two foreign keys, with one
  outbox event a create, and without both, interleaved with the reference).
  \`BENCH_CPU_CONNECTIONS\` [1] runs \`bench:cpu\` under more connections. \`npm run bench:proxy\` measures
  the provider proxy against a loopback provider (\`BENCH_PROXY_TLS=1\`: over HTTPS). An aborted
  focused benchmark (watchdog, Ctrl-C) drops its databases too.
- Everything listens on 127.0.0.1 only. Run it on an otherwise idle machine: the servers, PostgreSQL
  and the load generator share the same cores, so absolute numbers are lower than on a real
  deployment; the ratios to the ceiling are the point.

## What it measures

1. **Data.** A fresh database with the project's migrations; one project (API key made by the real
   projects service), one custom \`API_KEY\` auth config for toolkit \`linear\` (made through
   \`POST /api/v3.1/auth_configs\`), then ${info.seededRows.toLocaleString('en-US')} connected accounts inserted in bulk
   (multi-row \`INSERT … SELECT FROM unnest(…)\`, 5,000 rows a statement, with the outbox trigger
   disabled for the import: it is measured on its own, in 7). Each row's state is sealed by
   the real crypto module (AES-256-GCM) with the same associated data the service uses
   (\`connected_account:<projectId>/<id>\`) over \`{"api_key":"lin_api_…"}\`, \`secret_keys = {api_key}\`;
   created_at is spread over a year (heap order follows it), ~1.4 accounts per user, ~2% INACTIVE.
   ${info.apiCreatedRows} more go through the real \`POST /api/v3.1/connected_accounts\`. Then \`VACUUM (ANALYZE)\`
   (the state autovacuum reaches by itself shortly after a bulk insert) and a \`CHECKPOINT\`, so that
   writing the seed out does not fall inside the first load runs.
2. **Checks before measuring** (the run fails if any fails): a bulk-seeded account and an API-created
   one read back through \`GET /api/v3.1/connected_accounts/{id}\` with 200, the right user and the
   plaintext \`api_key\`, and with the same response shape; the first list page has 20 items and a
   cursor; paging with \`limit=1000\` yields a real \`next_cursor\` ${info.deepRows.toLocaleString('en-US')} rows deep, whose page is
   checked to continue where the paging stopped.
3. **Servers.** The real app (\`buildApp\`, LOG_LEVEL silent, rate limit raised out of the way,
   API-key cache at its default 5 s, Prisma pool of 10) and the **ceiling**: bare Fastify 5 + \`pg\`
   Pool(10), one primary-key \`SELECT *\` of a connected_accounts row returned as JSON — no auth,
   no validation, no decryption. The same server has the write reference: seal + one INSERT into a trigger-less copy of the table.
   Both in the benchmark's process; the load generator runs in its own.
4. **Load.** wrk (native, 2 threads), ${info.connections} connections, ${info.warmupS} s warm-up then ${info.durationS} s measured per
   endpoint. Runs that are compared with each other share their time in ${info.slices} turns (ABBA…, the
   order reversed every other turn), so that a machine whose speed drifts during the run slows both
   sides alike: the ceiling with the read by id; the first list page with the deep one; the write
   reference with the create and the create under the previous outbox trigger (before/after, same
   turns; the trigger is swapped before each of their turns). Each run's figures add up its turns;
   its p50/p99 merge the turns' latency distributions (each turn reports 380 quantiles).
   The list runs read credentials, so each page queues one audit record naming its 50 accounts:
   after them the run waits for the audit log to be written, then runs \`VACUUM (ANALYZE) audit_logs\`,
   so that the vacuum of those rows does not fall inside the create runs.
   Lua scripts rotate reads by id (app and ceiling alike) over every seeded id from a random start
   per thread, and give every create a distinct user_id and a fresh \`api_key\`. The list pages ask for
   \`limit=50\` in the default order (\`order_by=created_at\`, desc). req/s counts responses below 400. Every row shows the CPU wrk used against the CPU of the
   servers' process: when the generator needs as much as the server, the server is not the limit,
   and the row says "client-bound". It also shows how busy the whole machine was: a reference that
   leaves cores idle is limited by round trips, not by its work, and a ratio to it counts for no goal
   (under ${Math.round(MACHINE_SATURATED * 100)}%). (An earlier version used autocannon, a Node.js generator that
   could not saturate the ceiling and so flattered the ratios.)
5. **Single-request latency** (concurrency 1, after the load runs): the median and p90 of sequential
   requests, which isolates per-request cost from queueing.
6. **Statements per operation** (before the load runs): the real services on a Prisma client that
   logs its SQL; each SELECT re-run under \`EXPLAIN ANALYZE\` to see the rows it reads.
7. **The webhook outbox** (after the load runs; the events the create runs left are drained first).
   The real dispatcher (\`runOnce\` in a loop) drains a backlog of about ${info.backlog.toLocaleString('en-US')} events made by
   real state changes (accounts disabled and enabled again, 5,000 a statement, the trigger writing
   the events; statistics left as the bulk change leaves them): once with no subscriber, once with one
   subscription to both event types on a loopback receiver answering 204. Then, with a subscription
   to "created" and pg-boss running the dispatch loop exactly as the server does, wrk creates
   accounts for ${info.durationS} s; the receiver records each event's delay from its envelope timestamp.
8. **Start-up and memory** (bench/startup.ts, after \`npm run build\`): the server as \`npm start\` runs
   it (its V8 heap settings included) on its embedded PostgreSQL in a temporary folder: a cold start,
   then a warm one, each timed from spawn to the first 200 from /readyz; the Node process's RSS 3 s
   after the warm start (idle), and its peak (VmHWM) after wrk ran creates and then list pages
   (limit=50) at 50 connections for 5 s each. PostgreSQL's own processes are not counted.
9. **Server CPU per request** is the bench process's CPU time over the requests served in each load
   run; the goal "a page of 50 ≤ 6× one read" compares those.

## Goals

${goalTable}

## Results

Run of ${date} — ${info.cpus} cores (${info.cpuModel}), ${info.memGiB} GiB RAM, Node.js ${info.node},
PostgreSQL ${info.postgres} (${info.server === 'embedded' ? 'embedded' : `server at ${info.server}`}; ${info.postgresSettings}),
${info.rowsBeforeMeasuring.toLocaleString('en-US')} connected accounts in the table when measuring began
(${info.seededRows.toLocaleString('en-US')} bulk-seeded in ${(info.seedMs / 1000).toFixed(1)} s + ${info.apiCreatedRows} through the API); whole run ${Math.ceil(info.totalS)} s.

${markdownTable(rows)}

Single requests, one at a time:

| request | median ms | p90 ms | n |
| --- | ---: | ---: | ---: |
${probes.map((p) => `| ${p.label} | ${fmtMs(p.medianMs)} | ${fmtMs(p.p90Ms)} | ${p.n} |`).join('\n')}
${notes.length ? `\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
What each operation sends to the database, from the real services on a Prisma client that logs
its SQL (Prisma does not log the BEGIN of its implicit transactions); each SELECT was then re-run
under \`EXPLAIN ANALYZE\` with the same parameters. "Rows read" counts the rows its scans returned
or filtered out. The ceiling sends one SELECT that reads 1 row.

${statementsTable(diag)}

The webhook outbox:

| measurement | events | seconds | events/s | delay p50 ms | delay p99 ms |
| --- | ---: | ---: | ---: | ---: | ---: |
| backlog, no subscriber | ${outbox.backlogNoSub.events.toLocaleString('en-US')} | ${outbox.backlogNoSub.seconds.toFixed(1)} | ${fmtRps(outbox.backlogNoSub.perSecond)} | — | — |
| backlog, one loopback subscriber${outbox.backlogOneSub.complete ? '' : ' (not drained: stopped at the deadline)'} | ${outbox.backlogOneSub.events.toLocaleString('en-US')} | ${outbox.backlogOneSub.seconds.toFixed(1)} | ${fmtRps(outbox.backlogOneSub.perSecond)} | — | — |
| sustained creates (${fmtRps(outbox.sustained.createRps)}/s), one subscriber | ${outbox.sustained.received.toLocaleString('en-US')} of ${outbox.sustained.created.toLocaleString('en-US')} | ${info.durationS} | — | ${fmtMs(outbox.sustained.p50)} | ${fmtMs(outbox.sustained.p99)} |

## Where Latchkey stands

${standing(goals, diag)}

${outboxStanding(outbox)}
${kept}`;
  writeFileSync(file, text);
}
